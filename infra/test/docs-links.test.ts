import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, readText } from './helpers/repo';

/** Every markdown file under `dir`, repository-relative. */
function markdownUnder(dir: string): string[] {
  return readdirSync(join(REPO, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(REPO, path)).isDirectory()) return markdownUnder(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

/** The docs whose links must resolve: the README, CONTRIBUTING and everything under docs/. */
const LINKED = ['README.md', 'CONTRIBUTING.md', ...markdownUnder('docs')];
/** The docs that must name no numbered round of past work: those, and the bench's README. */
const CURRENT = [...LINKED, 'bench/README.md'];

/** The text outside fenced code blocks and inline code spans (links there are examples, not links). */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a markdown file's headings, with GitHub's -1, -2 suffixes for repeats. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const text = readText(file).replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '');
  for (const match of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug((match[1] ?? '').replace(/`/g, ''));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Every relative link of a file: `[text](target)`, external and mail links left out. */
function relativeLinks(file: string): string[] {
  return [...prose(readText(file)).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((match) => match[1] ?? '')
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/**
 * What counts as history: a numbered round of past work ("step 22", "session 3", "round 2",
 * "issue 17", "sprint 4", "iteration 2", "phase 1"), the word before the number. A count before
 * the word ("5 rounds", "--rounds=5") is a flag or a quantity, and `round 2/3` is the bench's
 * progress line, not history.
 */
const HISTORY = /\b(?:step|round|session|sprint|iteration|phase|issue)s?\s+#?\d+(?![\d/])/gi;

describe('the docs a newcomer reads', () => {
  it.each(LINKED)('%s: every relative link reaches a file, and every #anchor a heading', (file) => {
    const broken: string[] = [];
    for (const link of relativeLinks(file)) {
      const [path = '', anchor] = link.split('#', 2);
      const target = path === '' ? join(REPO, file) : resolve(REPO, dirname(file), decodeURI(path));
      if (!existsSync(target)) {
        broken.push(`${link}: no such file`);
        continue;
      }
      if (anchor !== undefined && anchor !== '') {
        if (!target.endsWith('.md')) {
          broken.push(`${link}: an anchor into a file that is not markdown`);
        } else if (!anchors(relative(REPO, target)).has(anchor)) {
          broken.push(`${link}: no heading with that anchor in ${relative(REPO, target)}`);
        }
      }
    }
    expect(broken, `${file} has broken links`).toEqual([]);
  });

  it('the README links to the operations guides and the full configuration and API', () => {
    const links = new Set(relativeLinks('README.md').map((link) => link.split('#')[0]));
    for (const doc of [
      'docs/configuration.md',
      'docs/api.md',
      'docs/production-monitoring.md',
      'docs/runbook.md',
      'docs/reliability.md',
      'docs/performance.md',
      'docs/scaling.md',
      'deploy/kubernetes/README.md',
    ]) {
      expect(links.has(doc), `README links ${doc}`).toBe(true);
    }
  });

  it('the README is under 260 lines', () => {
    expect(readText('README.md').split('\n').length).toBeLessThan(260);
  });

  it.each(CURRENT)('%s names no numbered round of past work', (file) => {
    const found = [...readText(file).matchAll(HISTORY)].map((match) => match[0]);
    expect(found, `${file} reads as a diary`).toEqual([]);
  });

  it('the history rule catches a numbered round and leaves counts and the progress line alone', () => {
    const hits = (text: string) => [...text.matchAll(HISTORY)].map((match) => match[0]);
    expect(hits('Session 3 ran on a slower machine; step 14 took it off the path (issue 17).')).toEqual([
      'Session 3',
      'step 14',
      'issue 17',
    ]);
    expect(hits('5 rounds of 3 s; --rounds=5; `round 2/3 done (51 s)`; sessionStorage 2')).toEqual([]);
  });

  it('the heading anchors follow GitHub: punctuation dropped, spaces to hyphens', () => {
    expect(slug('Spend reports on 100,000 users')).toBe('spend-reports-on-100000-users');
    expect(slug('4. Alerts')).toBe('4-alerts');
    expect(slug('The usage trail and pnpm reconcile')).toBe('the-usage-trail-and-pnpm-reconcile');
  });
});
