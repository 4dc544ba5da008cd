/**
 * The JSON of nbprod's server routes: the same JSON the CLI prints with
 * `--output-format json`. Declared once, here, next to the client (`client.ts`);
 * `tests/integration/server/test_api_types.py` checks a real server's answer of every route
 * against these types with the TypeScript compiler, so a change on the Python side that the
 * client does not know about fails a test. This file imports nothing.
 */

/** A position inside a cell (1-based row and column). */
export interface ILocation {
  row: number;
  column: number;
}

/** One lint finding (`GET lint`, `POST lint/fix`). */
export interface IDiagnostic {
  code: string;
  name: string;
  message: string;
  severity: 'error' | 'warning' | 'info';
  filename: string;
  /** 1-based over all cells; null for a finding about the whole notebook. */
  cell: number | null;
  cell_id: string | null;
  /** 1-based output index, for a finding in a cell's outputs. */
  output: number | null;
  location: ILocation;
  end_location: ILocation;
  fix: { applicability: 'safe' | 'unsafe'; message: string | null } | null;
  url: string | null;
  /** Whether the finding means a top-to-bottom run in a fresh kernel will fail. */
  rerun_blocker: boolean;
}

/** `GET lint/files`: what `nbprod lint P --show-files` lists, `[P]`, or `[]` when the
 * project's `exclude` patterns leave P out. */
export type ILintFiles = string[];

/** `GET /nbprod`: which commands this server's nbprod has. */
export interface IInfo {
  name: string;
  version: string;
  commands: string[];
}

/** One cell as `nbprod lint --diff` describes it before or after the fixes. */
export interface ICellState {
  source: string;
  tags: string[];
  outputs: number;
}

/** `GET lint/fix`: what Fix would change (`nbprod lint --diff`). */
export interface IFixPreview {
  notebooks: {
    filename: string;
    cells: {
      change: 'modified' | 'removed' | 'added';
      cell: number | null;
      cell_id: string | null;
      cell_type: string;
      before: ICellState | null;
      after: ICellState | null;
      /** 0-based positions of the outputs the fix removes (all of them when it clears). */
      removed_outputs?: number[];
    }[];
    files: { path: string; before: string; after: string }[];
  }[];
}

/** One tag nbprod suggests for a cell. */
export interface ISuggestion {
  cell: number;
  cell_id: string | null;
  first_line: string;
  tag: string;
  reason: string;
}

/** `GET tags/suggest`. */
export interface ITagSuggestions {
  suggestions: ISuggestion[];
  written: number;
}

/** One parameter of a notebook's `parameters` cell. */
export interface IParameter {
  name: string;
  type: string | null;
  default: unknown;
  /** The default as written in the cell (null for a required parameter or a secret). */
  default_source: string | null;
  help: string | null;
  required: boolean;
  /** The allowed values of a `Literal[...]` parameter. */
  choices: unknown[] | null;
}

/** `GET params`: the notebook's parameters cell and what it declares. */
export interface IParams {
  notebook: string;
  cell: number | null;
  cell_id: string | null;
  parameters: IParameter[];
}

/** One generated file and how it compares with the disk. */
export interface IExportFile {
  path: string;
  status: string;
  kind: string;
  notebook: string;
  /** The generated text (preview only). */
  content?: string;
  /** A unified diff against the file on disk (preview only). */
  diff?: string;
}

/** `GET export` (preview, with contents) and `GET export/check`. */
export interface IExportReport {
  files: IExportFile[];
  written: number;
  out_of_date: number;
  warnings: string[];
}

/** `POST export`: the files written, and the requirements declared for the generated code. */
export interface IExportWritten {
  files: IExportFile[];
  written: number;
  warnings: string[];
  declared: { path: string; requirements: string[] }[];
  nothing_to_export: string[];
}

/** One file a run read or wrote, as its receipt lists it. */
export interface IDataEntry {
  path: string;
  role: string;
  hash?: string | null;
  bytes?: number | null;
  /** Whether the file's bytes were copied into the store. */
  stored?: boolean;
  /** Rows and columns of a table the run read, when nbprod could profile it. */
  profile?: { rows?: number; columns?: unknown[]; [key: string]: unknown };
  /** The file changed while the run was reading it. */
  changed_during_run?: boolean;
  [key: string]: unknown;
}

/** One code cell of a run, as its receipt times it. */
export interface ICellTiming {
  index: number;
  cell: number | null;
  id: string | null;
  status: string;
  start: string | null;
  duration_s: number | null;
  execution_count: number | null;
  [key: string]: unknown;
}

/** The environment a receipt records. */
export interface IEnvironment {
  python: string;
  packages: Record<string, string>;
  not_reproducible: string[];
  [key: string]: unknown;
}

/** A run's receipt (`GET runs/ID`, `nbprod runs show --output-format json`). */
export interface IReceipt {
  schema: number;
  run_id: string;
  kind: string;
  parent: string | null;
  status: string;
  notebook: { path: string; hash: string | null; object?: string };
  parameters: Record<string, unknown>;
  kernel?: string;
  timing: {
    start: string | null;
    end: string | null;
    duration_s: number | null;
    cells?: ICellTiming[];
  };
  environment?: IEnvironment;
  data: IDataEntry[];
  records?: Record<string, unknown>;
  output?: string;
  error: { message: string; [key: string]: unknown } | null;
  objects?: string[];
  /** Models the run recorded, by name. */
  models?: { name: string; [key: string]: unknown }[];
  masked?: number;
  runner?: { pid: number | null; hostname: string | null };
}

/** `POST run` ends with the receipt and where the run's files are. */
export interface IRunResult extends IReceipt {
  run_dir: string;
}

/** One row of `GET runs` (`nbprod runs list`). */
export interface IRunSummary {
  run_id: string;
  notebook: string;
  notebook_hash: string | null;
  kind: string;
  parent: string | null;
  status: string;
  started: string;
  ended: string | null;
  duration_s: number | null;
  parameters: Record<string, unknown>;
  error: { message: string; [key: string]: unknown } | null;
  pid: number | null;
  hostname: string | null;
  heartbeat: number | null;
  records: Record<string, unknown>;
}

/** What was added, removed and changed between two mappings. */
export interface IMappingDiff {
  added: Record<string, unknown>;
  removed: Record<string, unknown>;
  changed: Record<string, { a: unknown; b: unknown }>;
}

/** Changed pairs only (status, notebook, system, git). */
export type IChanges = Record<string, { a: unknown; b: unknown }>;

/** How the environments of two runs (or of a run and now) differ. */
export interface IEnvironmentDiff {
  system: IChanges;
  packages: IMappingDiff;
  git: IChanges;
  lockfiles: IMappingDiff;
  not_reproducible: string[];
}

/** How the data two runs read and wrote differ. */
export interface IDataDiff {
  added: IDataEntry[];
  removed: IDataEntry[];
  changed: IDataEntry[];
  unchanged: number;
}

/** One output of a cell, reduced to what a diff shows. */
export interface IOutputSummary {
  [key: string]: unknown;
}

/** `GET runs/diff` (`nbprod runs diff A B --output-format json`). */
export interface IRunDiff {
  a: string;
  b: string;
  status: IChanges | { a: string; b: string };
  notebook: IChanges;
  parameters: IMappingDiff;
  records: IMappingDiff;
  environment: IEnvironmentDiff;
  data: IDataDiff;
  outputs: {
    available: boolean;
    missing?: string[];
    cells: {
      cell: number | null;
      cell_id: string | null;
      change: string;
      a: IOutputSummary[];
      b: IOutputSummary[];
    }[];
    same: number;
  };
  identical: boolean;
  changed_during_run: { a: string[]; b: string[] };
  parameter_defaults: { a: string[]; b: string[] };
}

/** The first output of a reproduced run that differs from the original's. */
export interface IDifference {
  cell: number | null;
  cell_id: string | null;
  reason: string;
  expected: unknown;
  actual: unknown;
  message: string;
}

/** `POST runs/ID/reproduce` ends with this (`nbprod reproduce --output-format json`). */
export interface IReproduceResult {
  original: string;
  run_id: string | null;
  status: string;
  reproduced: boolean;
  environment: IEnvironmentDiff;
  data: IDataDiff;
  notes: string[];
  difference: IDifference | null;
  inputs_changed_during_run: string[];
  /** With `--isolated` or `--upgrade`: the environment the run was reproduced in. */
  isolated: IIsolatedEnvironment | null;
  /** The API-drift findings (NB5xx) at the first differing cell: what predicted the break. */
  predicted_by: { code: string; name: string; message: string; cell: number | null; [key: string]: unknown }[];
}

/** The virtual environment an isolated reproduce built from the run's lock, or reused. */
export interface IIsolatedEnvironment {
  kernel: string;
  lock: string;
  environment: string;
  /** Whether the environment was already built (the same lock reproduced before). */
  cached: boolean;
  seconds: number;
  /** `--upgrade` packages and the versions they got. */
  upgraded: Record<string, string | null>;
}

/** `POST pipeline/run` ends with this (`nbprod pipeline run --output-format json`). */
export interface IPipelineRunResult {
  pipeline: string;
  run_id: string;
  ok: boolean;
  steps: { name: string; status: string; run_id: string | null; message: string }[];
}

/** The parts every background job has. */
interface IJobBase {
  job_id: string;
  path: string;
  state: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'error';
  exit_code: number | null;
  elapsed_s: number;
  progress: string;
  error: IErrorBody | null;
  /** A visible copy of the executed notebook, relative to the server root. */
  output_path: string | null;
  cancel_requested: boolean;
}

/** A background job as the server reports it; `result` is the JSON the CLI printed once the
 * job ended, and its shape follows `kind`. */
export type IJob =
  | (IJobBase & { kind: 'run'; result: IRunResult | null })
  | (IJobBase & { kind: 'reproduce'; result: IReproduceResult | null })
  | (IJobBase & { kind: 'pipeline'; result: IPipelineRunResult | null });

/** `GET pipeline`: each step's cache state (`nbprod pipeline status`). */
export interface IPipelineStep {
  name: string;
  cached: boolean;
  reason: string | null;
  run_id: string | null;
  key: string | null;
}

/** `GET pipeline/dag`: the steps, their cache state, the SVG. */
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

/** `GET runs/ID/report`: a self-contained HTML page. */
export interface IRunReport {
  title: string;
  run_ids: string[];
  html: string;
}

/** The error body every nbprod route answers with (a refused record adds its problems). */
export interface IErrorBody {
  error: string;
  message: string;
  problems?: IProblem[];
}

/** `GET serve`, `POST serve`, `DELETE serve`: a notebook's local model service. */
export interface IServeStatus {
  path: string;
  running: boolean;
  /** The loopback port it listens on (the server forwards to it; browsers need not reach it). */
  port: number | null;
  /** The model it serves and the run that recorded it, once loaded. */
  model: string | null;
  run_id: string | null;
  /** What the start asked for (null: the newest run of the notebook with a model). */
  requested: { model: string | null; run: string | null };
  uptime_s: number | null;
}

/** `POST serve/predict`: the service's `/predict` answer. */
export interface IPrediction {
  predictions: unknown[];
  model: string;
  run_id: string;
}

/** One problem the service found in a record: the field and what is wrong with it. */
export interface IProblem {
  row: number | null;
  field: string;
  type: string | null;
  message: string;
}

/** What the service refuses in a record, field by field (422 of `POST serve/predict`). */
export interface IServeRefusal extends IErrorBody {
  problems: IProblem[];
}

/** One feature of `GET serve/drift`. */
export interface IDriftFeature {
  feature: string;
  kind: string;
  missing_rate: { training: number; live: number };
  psi: number | null;
  verdict: 'stable' | 'moderate' | 'drifted' | 'too few rows';
}

/** `GET serve/drift`: live requests against the training data, per feature. */
export interface IDriftReport {
  window: number;
  rows: number;
  seen: number;
  min_rows: number;
  thresholds: { moderate_psi: number; drift_psi: number; missing_rate_change: number };
  drifted: string[];
  features: IDriftFeature[];
}

/** One column of a request record in the service's JSON schema (pydantic's output). */
export interface ISchemaField {
  type?: 'number' | 'integer' | 'boolean' | 'string' | 'null';
  enum?: (string | number | boolean)[];
  anyOf?: ISchemaField[];
  title?: string;
  [key: string]: unknown;
}

/** The request schema: a list of records, each record defined under `$defs`. */
export interface IRequestSchema {
  type: 'array';
  items: { $ref: string };
  $defs: Record<
    string,
    {
      type: 'object';
      properties: Record<string, ISchemaField>;
      required?: string[];
      additionalProperties?: boolean;
      title?: string;
    }
  >;
}

/** One column of the training data's profile. */
export interface IProfileColumn {
  name: string;
  kind: 'number' | 'integer' | 'boolean' | 'category';
  dtype: string;
  nullable: boolean;
  missing_rate: number;
  min?: number | null;
  max?: number | null;
  [key: string]: unknown;
}

/** `GET serve/metadata`: where the served model came from and what a request must hold. */
export interface IServeMetadata {
  model: { name: string; hash: string | null; format: string | null; class: string | null };
  run_id: string;
  notebook: { path: string; hash: string | null; [key: string]: unknown } | null;
  parameters: Record<string, unknown>;
  data: { path: string; role: string; hash: string | null; bytes: number | null }[];
  environment: {
    python: string | null;
    platform: unknown;
    packages: Record<string, string>;
    git: unknown;
  };
  metrics: Record<string, unknown>;
  service: {
    notebook: string;
    module: string;
    predict: string;
    max_body_bytes: number;
    drift_window: number;
  };
  schema: IRequestSchema;
  profile: { rows: number; columns: IProfileColumn[] } | null;
}
