// What realistic FlashCase traffic looks like: students chatting about, rewriting and
// autocompleting flashcards, some answers streamed, now and then a tab closed mid-answer.

export type Operation = 'chat' | 'rewrite' | 'autocomplete' | 'chat/completions';

export interface PlannedRequest {
  operation: Operation;
  path: string;
  body: Record<string, unknown>;
  stream: boolean;
  /** Close the connection after the first streamed chunk (a user closing the tab). */
  abortEarly: boolean;
}

/** Share of each operation in the mix (sums to 1). */
export const MIX: readonly [Operation, number][] = [
  ['chat', 0.4],
  ['rewrite', 0.25],
  ['autocomplete', 0.2],
  ['chat/completions', 0.15],
];
export const STREAM_SHARE = 0.4;
/** Of the streamed requests, the share the client abandons after the first chunk. */
export const ABORT_SHARE = 0.06;

const TOPICS = [
  'the Krebs cycle',
  'ATP synthase',
  'the French Revolution',
  'Newton’s second law',
  'photosynthesis',
  'supply and demand',
  'the mitochondrion',
  'Bayes’ theorem',
  'the causes of World War I',
  'plate tectonics',
  'the Pythagorean theorem',
  'DNA replication',
  'opportunity cost',
  'the water cycle',
  'Ohm’s law',
];
const QUESTIONS = [
  'Explain {t} in two sentences.',
  'What is the most common exam mistake about {t}?',
  'Give me a mnemonic for {t}.',
  'Quiz me on {t} with one question.',
  'How does {t} connect to what I studied yesterday?',
];
const CARDS = [
  'Q: What does {t} describe? A: it is a process where things change over time because of causes',
  '{t}: key idea, main steps, one example, why it matters for the exam',
  'Definition of {t} - the thing that happens when the conditions are met and energy is moved',
];
const INSTRUCTIONS = ['make it shorter', 'make it clearer for a beginner', 'turn it into a question', undefined];
const PARTIALS = ['The main function of {t} is', '{t} happens when', 'An example of {t} is', 'Remember that {t}'];

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length) % items.length] as T;
}

function fill(template: string, random: () => number): string {
  return template.replace('{t}', pick(TOPICS, random));
}

/** One request of the mix, drawn with `random` (Math.random, or a seeded one in tests). */
export function planRequest(random: () => number = Math.random): PlannedRequest {
  let roll = random();
  let operation: Operation = 'chat';
  for (const [name, share] of MIX) {
    if (roll < share) {
      operation = name;
      break;
    }
    roll -= share;
  }
  const stream = random() < STREAM_SHARE;
  const abortEarly = stream && random() < ABORT_SHARE;
  const path = `/api/v1/ai/${operation}`;
  switch (operation) {
    case 'chat':
      return {
        operation,
        path,
        stream,
        abortEarly,
        body: {
          messages: [
            { role: 'system', content: 'You are a patient study coach for flashcards.' },
            { role: 'user', content: fill(pick(QUESTIONS, random), random) },
          ],
          max_tokens: 200,
          stream,
        },
      };
    case 'rewrite': {
      const instruction = pick(INSTRUCTIONS, random);
      return {
        operation,
        path,
        stream,
        abortEarly,
        body: { text: fill(pick(CARDS, random), random), ...(instruction ? { instruction } : {}), stream },
      };
    }
    case 'autocomplete':
      return { operation, path, stream, abortEarly, body: { text: fill(pick(PARTIALS, random), random), stream } };
    default:
      return {
        operation,
        path,
        stream,
        abortEarly,
        body: {
          model: 'grok-4-fast',
          messages: [{ role: 'user', content: fill(pick(QUESTIONS, random), random) }],
          max_tokens: 150,
          stream,
          ...(stream ? { stream_options: { include_usage: true } } : {}),
        },
      };
  }
}

/** A burst from one user: more calls than the AI per-minute limit admits (the 429 chart moves). */
export function planBurst(size: number): PlannedRequest[] {
  return Array.from({ length: size }, () => ({
    operation: 'autocomplete' as const,
    path: '/api/v1/ai/autocomplete',
    stream: false,
    abortEarly: false,
    body: { text: 'The mitochondrion is', max_tokens: 20 },
  }));
}
