import { errorJson } from './wire';

/** The model ids `GET /v1/models` lists by default (xAI's). */
export const DEFAULT_MODELS: readonly string[] = Object.freeze(['grok-4', 'grok-3', 'grok-3-mini']);

/** An answer of the models endpoints: status and JSON body. */
export interface ModelsAnswer {
  status: number;
  json: string;
}

/**
 * `GET /v1/models` and `GET /v1/models/{id}` in OpenAI's list and model shapes, every model owned
 * by `xai` and `created` at the given Unix second. The list is serialised once, here; an id not in
 * `models` (URL-decoded) is OpenAI's 404 `model_not_found`. Chat requests may still name any model.
 */
export function modelsEndpoints(models: readonly string[], created: number) {
  const listJson = JSON.stringify({
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created, owned_by: 'xai' })),
  });
  return {
    list(): ModelsAnswer {
      return { status: 200, json: listJson };
    },
    /** `encodedId`: the path segment after `/v1/models/`, as sent. */
    one(encodedId: string): ModelsAnswer {
      const id = decodeURIComponent(encodedId);
      if (models.includes(id)) {
        return { status: 200, json: JSON.stringify({ id, object: 'model', created, owned_by: 'xai' }) };
      }
      return {
        status: 404,
        json: errorJson(
          `The model \`${id}\` does not exist or you do not have access to it.`,
          'invalid_request_error',
          null,
          'model_not_found',
        ),
      };
    },
  };
}
