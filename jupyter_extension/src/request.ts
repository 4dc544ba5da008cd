/**
 * One way to call the nbprod server: `ServerConnection.makeRequest`, which adds the token
 * and the XSRF header. Errors become `NbprodRequestError` with the server's message.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { IErrorBody, IProblem } from './api';

/** Shown when the server answers 404 on nbprod's base route. */
export const NOT_INSTALLED =
  "The nbprod server extension is not installed or not enabled on this Jupyter server. " +
  "Install it with `pip install 'nbprod[lab]'` and restart JupyterLab " +
  '(`jupyter server extension list` should show nbprod).';

/** An error answered by the nbprod server (or the lack of it). */
export class NbprodRequestError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    /** The fields a model service refused, when it refused a record. */
    readonly problems: IProblem[] = []
  ) {
    super(message);
    this.name = 'NbprodRequestError';
  }
}

/**
 * Call `<base_url>/nbprod/<endPoint>` and return its JSON.
 *
 * @param endPoint - the route below `/nbprod` (with its query string)
 * @param init - method and body
 * @param settings - the server connection settings
 * @returns the decoded JSON answer
 * @throws {NbprodRequestError} on a network error or a non-2xx answer
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'nbprod', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new NbprodRequestError(0, 'NetworkError', `Cannot reach the Jupyter server: ${error}`);
  }
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const body = (data ?? {}) as Partial<IErrorBody>;
    if (response.status === 404 && !body.error) {
      // Jupyter's own 404 (an HTML page): the nbprod routes are not there at all.
      throw new NbprodRequestError(404, 'NotInstalled', NOT_INSTALLED);
    }
    throw new NbprodRequestError(
      response.status,
      body.error ?? 'Error',
      body.message ?? response.statusText,
      body.problems ?? []
    );
  }
  return data as T;
}
