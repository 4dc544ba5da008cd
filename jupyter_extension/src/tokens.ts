/**
 * The shapes of nbprod's JSON (the same JSON the CLI prints with `--output-format json`)
 * and the token through which other JupyterLab plugins reach the nbprod client.
 */
import { Token } from '@lumino/coreutils';

/** A position inside a cell (1-based row and column). */
export interface ILocation {
  row: number;
  column: number;
}

/** One lint finding, as `nbprod lint --output-format json` prints it. */
export interface IDiagnostic {
  code: string;
  name: string;
  message: string;
  severity: 'error' | 'warning' | 'info' | string;
  filename: string;
  /** 1-based over all cells; null for a finding about the whole notebook. */
  cell: number | null;
  cell_id: string | null;
  output?: number | null;
  location: ILocation;
  end_location: ILocation;
  fix: { applicability: string; message: string | null } | null;
  url: string | null;
}

/** `GET /nbprod`: which commands this server's nbprod has. */
export interface IInfo {
  name: string;
  version: string;
  commands: string[];
}

/** One parameter of a notebook's `parameters` cell (`nbprod params`). */
export interface IParameter {
  name: string;
  type: string | null;
  default: unknown;
  help: string | null;
  required: boolean;
}

/** A background job (a run or a pipeline run) as the server reports it. */
export interface IJob {
  job_id: string;
  kind: 'run' | 'pipeline' | 'reproduce';
  path: string;
  state: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'error';
  exit_code: number | null;
  elapsed_s: number;
  progress: string;
  /** The JSON the CLI printed once the job ended. */
  result: any;
  error: { error: string; message: string } | null;
  /** A visible copy of the executed notebook, relative to the server root. */
  output_path: string | null;
  cancel_requested: boolean;
}

/** The error body every nbprod route answers with. */
export interface IErrorBody {
  error: string;
  message: string;
}

/** The client of nbprod's server API. */
export interface INbprodClient {
  info(): Promise<IInfo>;
  lint(path: string): Promise<IDiagnostic[]>;
  fix(path: string): Promise<IDiagnostic[]>;
  fixPreview(path: string): Promise<IFixPreview>;
  suggestTags(path: string): Promise<any>;
  exportPreview(path: string): Promise<any>;
  exportWrite(path: string, force?: boolean): Promise<any>;
  exportCheck(path: string): Promise<any>;
  params(path: string): Promise<any>;
  startRun(path: string, parameters: Record<string, unknown>, output?: string): Promise<IJob>;
  job(jobId: string): Promise<IJob>;
  cancelJob(jobId: string): Promise<IJob>;
  runs(path: string): Promise<any>;
  showRun(path: string, runId: string): Promise<any>;
  diffRuns(path: string, a: string, b: string): Promise<any>;
  runReport(path: string, runId: string): Promise<IRunReport>;
  pipelineDag(path: string): Promise<IPipelineDag>;
  startPipeline(path: string, step?: string): Promise<IJob>;
  /** `isolated`: in the environment the run ran in, rebuilt from its receipt with uv. */
  startReproduce(path: string, runId: string, isolated?: boolean): Promise<IJob>;
}

/** `nbprod pipeline show P --output-format json`: the steps, their cache state, the SVG. */
export interface IPipelineDag {
  name: string;
  steps: {
    name: string;
    upstream: string[];
    runs: string | null;
    cached: boolean;
    reason: string | null;
    run_id: string | null;
  }[];
  svg: string;
}

/** One cell as `nbprod lint --diff` describes it before or after the fixes. */
export interface ICellState {
  source: string;
  tags: string[];
  outputs: number;
}

/** `nbprod lint P --diff --output-format json`: what Fix would change. */
export interface IFixPreview {
  notebooks: {
    filename: string;
    cells: {
      change: 'modified' | 'removed' | 'added';
      cell: number | null;
      cell_id: string | null;
      before: ICellState | null;
      after: ICellState | null;
    }[];
    files: { path: string; before: string; after: string }[];
  }[];
}

/** `nbprod runs report RUN --output-format json`: a self-contained HTML page. */
export interface IRunReport {
  title: string;
  run_ids: string[];
  html: string;
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
