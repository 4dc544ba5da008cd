/**
 * The token through which other JupyterLab plugins reach the nbprod client, the client's
 * interface, and nbprod's tag vocabulary. The JSON shapes are declared in `api.ts`.
 */
import { Token } from '@lumino/coreutils';

import type {
  IDiagnostic,
  IDriftReport,
  IExportReport,
  IExportWritten,
  IFixPreview,
  IInfo,
  IJob,
  ILintFiles,
  IParams,
  IPipelineDag,
  IPrediction,
  IReceipt,
  IRunDiff,
  IRunReport,
  IRunSummary,
  IServeMetadata,
  IServeStatus,
  ITagSuggestions
} from './api';

export type * from './api';

/** The client of nbprod's server API. */
export interface INbprodClient {
  info(): Promise<IInfo>;
  lint(path: string): Promise<IDiagnostic[]>;
  lintFiles(path: string): Promise<ILintFiles>;
  fix(path: string): Promise<IDiagnostic[]>;
  fixPreview(path: string): Promise<IFixPreview>;
  suggestTags(path: string): Promise<ITagSuggestions>;
  exportPreview(path: string): Promise<IExportReport>;
  exportWrite(path: string, force?: boolean): Promise<IExportWritten>;
  exportCheck(path: string): Promise<IExportReport>;
  params(path: string): Promise<IParams>;
  startRun(path: string, parameters: Record<string, unknown>, output?: string): Promise<IJob>;
  job(jobId: string): Promise<IJob>;
  cancelJob(jobId: string): Promise<IJob>;
  runs(path: string): Promise<IRunSummary[]>;
  showRun(path: string, runId: string): Promise<IReceipt>;
  diffRuns(path: string, a: string, b: string): Promise<IRunDiff>;
  runReport(path: string, runId: string): Promise<IRunReport>;
  pipelineDag(path: string): Promise<IPipelineDag>;
  startPipeline(path: string, step?: string): Promise<IJob>;
  /** `isolated`: in the environment the run ran in, rebuilt from its receipt with uv. */
  startReproduce(path: string, runId: string, isolated?: boolean): Promise<IJob>;
  /** The notebook's local model service (`nbprod serve`), run and stopped by the server. */
  serveStatus(path: string): Promise<IServeStatus>;
  /** Start it (`model`: NAME or NAME@ALIAS, or `run`: a run id); the running one if any. */
  startService(path: string, choice?: { model?: string; run?: string }): Promise<IServeStatus>;
  stopService(path: string): Promise<IServeStatus>;
  /** One record through the service's `/predict`. */
  predict(path: string, record: Record<string, unknown>): Promise<IPrediction>;
  drift(path: string): Promise<IDriftReport>;
  /** The service's `/metadata`: the model's provenance and the request schema. */
  serviceMetadata(path: string): Promise<IServeMetadata>;
}

/** The token that provides the nbprod client. */
export const INbprodClient = new Token<INbprodClient>(
  'nbprod:INbprodClient',
  'The client of the nbprod server extension.'
);

/** The tags nbprod gives a meaning to (see the tag language in the docs). */
export const NBPROD_TAGS = ['parameters', 'export', 'test', 'skip'] as const;
export const STEP_PREFIX = 'step:';

/** Whether `tag` is one of nbprod's tags. */
export function isNbprodTag(tag: string): boolean {
  return (
    (NBPROD_TAGS as readonly string[]).includes(tag) ||
    (tag.startsWith(STEP_PREFIX) && tag.length > STEP_PREFIX.length)
  );
}

/**
 * Whether `path` is a run's executed notebook rather than a source notebook: the copy
 * `nbprod run -o` writes (`*.output.ipynb`) or a notebook inside the run store (`.nbprod/`).
 */
export function isRunOutput(path: string): boolean {
  return /\.output\.ipynb$/.test(path) || /(^|\/)\.nbprod\//.test(path);
}

/** The source notebook a run output most likely came from (`a/train.output.ipynb` -> `a/train.ipynb`). */
export function sourceOf(path: string): string {
  return path.replace(/\.output\.ipynb$/, '.ipynb');
}
