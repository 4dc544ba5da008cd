/** The nbprod client: one method per server route (see `nbprod/server/handlers.py`); the
 * shapes of the answers are in `api.ts`. */
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';
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
import { INbprodClient } from './tokens';

function query(values: Record<string, string>): string {
  return '?' + new URLSearchParams(values).toString();
}

function post(body: unknown, method = 'POST'): RequestInit {
  return { method, body: JSON.stringify(body) };
}

/** Talks to the nbprod routes of the Jupyter server this JupyterLab runs on. */
export class NbprodClient implements INbprodClient {
  constructor(readonly settings: ServerConnection.ISettings) {}

  private call<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
    return requestAPI<T>(endPoint, init, this.settings);
  }

  info(): Promise<IInfo> {
    return this.call<IInfo>('');
  }
  lint(path: string): Promise<IDiagnostic[]> {
    return this.call('lint' + query({ path }));
  }
  lintFiles(path: string): Promise<ILintFiles> {
    return this.call('lint/files' + query({ path }));
  }
  fix(path: string): Promise<IDiagnostic[]> {
    return this.call('lint/fix', post({ path }));
  }
  fixPreview(path: string): Promise<IFixPreview> {
    return this.call('lint/fix' + query({ path }));
  }
  suggestTags(path: string): Promise<ITagSuggestions> {
    return this.call('tags/suggest' + query({ path }));
  }
  exportPreview(path: string): Promise<IExportReport> {
    return this.call('export' + query({ path }));
  }
  exportWrite(path: string, force = false): Promise<IExportWritten> {
    return this.call('export', post({ path, force }));
  }
  exportCheck(path: string): Promise<IExportReport> {
    return this.call('export/check' + query({ path }));
  }
  params(path: string): Promise<IParams> {
    return this.call('params' + query({ path }));
  }
  startRun(path: string, parameters: Record<string, unknown>, output?: string): Promise<IJob> {
    return this.call('run', post(output ? { path, parameters, output } : { path, parameters }));
  }
  job(jobId: string): Promise<IJob> {
    return this.call('jobs/' + encodeURIComponent(jobId));
  }
  cancelJob(jobId: string): Promise<IJob> {
    return this.call('jobs/' + encodeURIComponent(jobId), { method: 'DELETE' });
  }
  runs(path: string): Promise<IRunSummary[]> {
    return this.call('runs' + query({ path }));
  }
  showRun(path: string, runId: string): Promise<IReceipt> {
    return this.call('runs/' + encodeURIComponent(runId) + query({ path }));
  }
  diffRuns(path: string, a: string, b: string): Promise<IRunDiff> {
    return this.call('runs/diff' + query({ path, a, b }));
  }
  pipelineDag(path: string): Promise<IPipelineDag> {
    return this.call('pipeline/dag' + query({ path }));
  }
  startPipeline(path: string, step?: string): Promise<IJob> {
    return this.call('pipeline/run', post(step ? { path, step } : { path }));
  }
  startReproduce(path: string, runId: string, isolated = false): Promise<IJob> {
    const body = isolated ? { path, isolated } : { path };
    return this.call('runs/' + encodeURIComponent(runId) + '/reproduce', post(body));
  }
  runReport(path: string, runId: string): Promise<IRunReport> {
    return this.call('runs/' + encodeURIComponent(runId) + '/report' + query({ path }));
  }
  serveStatus(path: string): Promise<IServeStatus> {
    return this.call('serve' + query({ path }));
  }
  startService(path: string, choice: { model?: string; run?: string } = {}): Promise<IServeStatus> {
    return this.call('serve', post({ path, ...choice }));
  }
  stopService(path: string): Promise<IServeStatus> {
    return this.call('serve' + query({ path }), { method: 'DELETE' });
  }
  predict(path: string, record: Record<string, unknown>): Promise<IPrediction> {
    return this.call('serve/predict', post({ path, record }));
  }
  drift(path: string): Promise<IDriftReport> {
    return this.call('serve/drift' + query({ path }));
  }
  serviceMetadata(path: string): Promise<IServeMetadata> {
    return this.call('serve/metadata' + query({ path }));
  }
}
