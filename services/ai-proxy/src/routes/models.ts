import { HttpError, requireUser } from '@flashcase/telemetry';
import { type Request, type Response, Router } from 'express';

export interface ModelsRoutesDeps {
  /** The models this deployment allows (the pricing table's), in the order to list them. */
  models: readonly string[];
  /** Unix seconds reported as each model's `created` (when this process started). */
  created: number;
}

/** Who answers for the models: xAI's, as OpenAI's list shape names it. */
const OWNER = 'xai';

/**
 * `GET /api/v1/ai/models` and `GET /api/v1/ai/models/:id` in OpenAI's list and model shapes: the
 * models a `chat/completions` call may name here (the pricing table's). Any other id is a 404.
 */
export function modelsRoutes({ models, created }: ModelsRoutesDeps): Router {
  const router = Router();
  const allowed = new Set(models);
  const model = (id: string) => ({ id, object: 'model', created, owned_by: OWNER });

  router.get('/api/v1/ai/models', requireUser(), (_req: Request, res: Response) => {
    res.json({ object: 'list', data: models.map(model) });
  });

  router.get('/api/v1/ai/models/:id', requireUser(), (req: Request, res: Response) => {
    const id = String(req.params.id ?? '');
    if (!allowed.has(id))
      throw new HttpError(404, 'not_found', `The model ${JSON.stringify(id.slice(0, 128))} is not available here`);
    res.json(model(id));
  });

  return router;
}
