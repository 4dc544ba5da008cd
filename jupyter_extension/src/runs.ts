/** The Runs section: this notebook's receipts in a table; pick two to see their diff. */
import type { IChanges, IDataEntry, IJob, IMappingDiff, IOutputSummary, IRunDiff, IRunSummary } from './api';
import { h, replace } from './dom';
import { NbprodRequestError } from './request';
import { ISectionContext, Section } from './section';

/** A value as a reader wants it: numbers to 6 significant digits, the rest as JSON. */
export function showValue(value: unknown): string {
  if (typeof value === 'number' && !Number.isInteger(value)) {
    return String(Number(value.toPrecision(6)));
  }
  return JSON.stringify(value);
}

/** `+ name = value`, `- name = value`, `~ name: a → b` lines of one mapping diff. */
export function mappingLines(
  diff: IMappingDiff | undefined,
  defaults: { a?: string[]; b?: string[] } = {}
): string[] {
  if (!diff) {
    return [];
  }
  const mark = (side: 'a' | 'b', key: string) => ((defaults[side] ?? []).includes(key) ? ' (default)' : '');
  return [
    ...Object.entries(diff.added ?? {}).map(([k, v]) => `+ ${k} = ${showValue(v)}${mark('b', k)}`),
    ...Object.entries(diff.removed ?? {}).map(([k, v]) => `- ${k} = ${showValue(v)}${mark('a', k)}`),
    ...Object.entries(diff.changed ?? {}).map(
      ([k, c]) => `~ ${k}: ${showValue(c.a)}${mark('a', k)} → ${showValue(c.b)}${mark('b', k)}`
    )
  ];
}

/** The text of a cell's outputs, for showing two runs' outputs side by side. */
function outputText(outputs: IOutputSummary[] | undefined): string {
  return (outputs ?? [])
    .map(o => (typeof o.text === 'string' ? o.text : o.data ? Object.keys(o.data).join(', ') : JSON.stringify(o)))
    .join('');
}

/** `nbprod runs diff --output-format json` as sections a reviewer reads, like the CLI's text. */
export function diffView(result: IRunDiff): HTMLElement {
  const sections: HTMLElement[] = [];
  const section = (title: string, lines: string[]) => {
    if (lines.length) {
      sections.push(
        h('div', { className: 'nbprod-diff-section', 'data-section': title },
          h('div', { className: 'nbprod-diff-title' }, title),
          h('pre', {}, lines.join('\n')))
      );
    }
  };
  const pairs = (changes: IChanges | undefined) =>
    Object.entries(changes ?? {}).map(([k, c]) => `~ ${k}: ${showValue(c.a)} → ${showValue(c.b)}`);
  if (result.status && 'a' in result.status) {
    section('status', [`~ ${result.status.a} → ${result.status.b}`]);
  }
  section('notebook', pairs(result.notebook));
  section('parameters', mappingLines(result.parameters, result.parameter_defaults));
  section('recorded values', mappingLines(result.records));
  const env = result.environment ?? {};
  section('environment', [...pairs(env.system), ...pairs(env.git), ...mappingLines(env.packages)]);
  const data = result.data ?? {};
  section('data', [
    ...(data.added ?? []).map((e: IDataEntry) => `+ ${e.path} (${e.role})`),
    ...(data.removed ?? []).map((e: IDataEntry) => `- ${e.path} (${e.role})`),
    ...(data.changed ?? []).map((e: IDataEntry) => `~ ${e.path} (${e.role})${e.changed_during_run ? ', changed while read' : ''}`)
  ]);
  const outputs = result.outputs;
  if (outputs?.cells?.length) {
    sections.push(
      h('div', { className: 'nbprod-diff-section', 'data-section': 'outputs' },
        h('div', { className: 'nbprod-diff-title' }, 'outputs'),
        ...outputs.cells.map(cell =>
          h('div', { className: 'nbprod-diff-cell' },
            h('div', {}, `${cell.change}: cell ${cell.cell}${cell.cell_id ? ` (${cell.cell_id})` : ''}`),
            h('div', { className: 'nbprod-diff-sides' },
              h('pre', { className: 'nbprod-diff-a' }, outputText(cell.a)),
              h('pre', { className: 'nbprod-diff-b' }, outputText(cell.b))))
        ))
    );
  } else if (outputs && !outputs.available) {
    section('outputs', [`not compared (${(outputs.missing ?? []).join(', ')} missing)`]);
  }
  if (!sections.length) {
    sections.push(h('p', {}, 'The runs are identical in parameters, environment, data and outputs.'));
  }
  return h('div', { className: 'nbprod-diff' }, ...sections);
}

/**
 * What a finished reproduction says about run `runId` when it did not match.
 *
 * The CLI's exit code tells a real mismatch (1: the rerun's outputs differ) from a
 * reproduction refused before anything ran (2: a user error, such as a secret parameter
 * whose value the receipt does not keep).
 */
export function reproduceFailure(job: IJob, runId: string): string {
  const result = job.kind === 'reproduce' ? job.result : null;
  // The CLI's message starts with `run ID: `, which the sentence already says.
  const message = (job.error?.message ?? '').replace(/^run \S+: /, '');
  if (job.state === 'cancelled') {
    return `Reproducing run ${runId} was cancelled.`;
  }
  if (job.exit_code === 2) {
    const secret = /parameter '([^']+)' was redacted \(a secret\)/.exec(message);
    if (secret) {
      const why = message.replace(/;\s*give it again with -p .*$/, '');
      return (
        `Run ${runId} cannot be reproduced here: ${why}. Reproduce it from a terminal with ` +
        `\`nbprod reproduce ${runId} -p ${secret[1]} VALUE\`.`
      );
    }
    return `Run ${runId} cannot be reproduced here: ${message || job.state}`;
  }
  if (job.state === 'failed') {
    return `Run ${runId} does not reproduce: ${result?.difference?.message ?? (message || job.state)}`;
  }
  return `Reproducing run ${runId} stopped: ${message || job.state}`;
}

export class RunsSection extends Section {
  private readonly table: HTMLElement;
  private readonly diff: HTMLElement;
  private readonly diffButton: HTMLButtonElement;
  private selected: string[] = [];

  constructor(ctx: ISectionContext) {
    super('runs', 'Runs', 'runs', ctx);
    this.diffButton = this.button('Diff selected', 'nbprod-runs-diff', () => void this.compare());
    this.diffButton.disabled = true;
    this.toolbar.append(
      this.button('Refresh', 'nbprod-runs-refresh', () => void this.refresh()),
      this.diffButton,
      this.button('Open view', 'nbprod-runs-view', () => this.ready && this.ctx.openView(this.path))
    );
    this.table = h('div', { className: 'nbprod-runs-table' });
    this.diff = h('div', { className: 'nbprod-runs-diff-result' });
  }

  protected onNotebook(): void {
    this.body.append(this.table, this.diff);
    replace(this.table);
    replace(this.diff);
    this.selected = [];
    void this.refresh();
  }

  async refresh(): Promise<void> {
    if (!this.ready) {
      return;
    }
    const panel = this.notebook;
    try {
      const rows: IRunSummary[] = await this.ctx.client.runs(this.path);
      if (this.owns(panel)) {
        this.render(rows);
      }
    } catch (error) {
      if (!this.owns(panel)) {
        return;
      }
      replace(this.table);
      if (error instanceof NbprodRequestError && error.status === 400) {
        // No run store yet: the normal state of a notebook never run.
        this.setStatus('No runs yet.', 'info');
      } else {
        this.showError(error);
      }
    }
  }

  private render(rows: IRunSummary[]): void {
    this.selected = this.selected.filter(id => rows.some(r => r.run_id === id));
    this.setStatus(rows.length ? `${rows.length} run${rows.length === 1 ? '' : 's'}` : 'No runs yet.');
    if (!rows.length) {
      replace(this.table);
      return;
    }
    // Three columns: in a sidebar's width, a status column and an actions column of their own
    // left the parameters a few characters (the status ran into them, names broke mid-word),
    // so the run's cell holds its id, its status and its two actions, one under the other.
    const header = h('tr', {}, ...['', 'run', 'parameters'].map(t => h('th', {}, t)));
    const body = rows.map(row => {
      const box = h('input', {
        type: 'checkbox',
        'data-run-id': row.run_id,
        checked: this.selected.includes(row.run_id),
        onChange: () => this.toggle(row.run_id, box.checked)
      });
      const params = Object.entries(row.parameters ?? {})
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' ');
      const seconds = row.duration_s === null ? '' : ` in ${row.duration_s.toFixed(1)} s`;
      return h(
        'tr',
        {
          className: 'nbprod-run-row',
          'data-run-id': row.run_id,
          title: `${row.run_id}: started ${new Date(row.started).toLocaleString()}${seconds}`
        },
        h('td', {}, box),
        h(
          'td',
          { className: 'nbprod-run-cell' },
          h('div', { className: 'nbprod-run-id' }, row.run_id.split('-').pop() ?? row.run_id),
          h('div', { className: `nbprod-run-status nbprod-run-${row.status}` }, row.status),
          // A pipeline's steps, a sweep's runs and reproductions are runs of this notebook too.
          row.kind && row.kind !== 'run' ? h('div', { className: 'nbprod-run-kind' }, row.kind) : null,
          h(
            'button',
            {
              className: 'jp-Button jp-mod-styled jp-mod-minimal nbprod-run-report',
              title: 'Open the report of this run in a tab',
              onClick: () => void this.report(row.run_id)
            },
            'Report'
          ),
          h(
            'button',
            {
              className: 'jp-Button jp-mod-styled jp-mod-minimal nbprod-run-reproduce',
              title:
                'Rerun in the environment this run ran in (rebuilt from its receipt with uv, ' +
                'cached) and compare the outputs',
              onClick: () => void this.reproduce(row.run_id)
            },
            'Reproduce'
          )
        ),
        h('td', { className: 'nbprod-run-params' }, params)
      );
    });
    replace(this.table, h('table', { className: 'nbprod-table' }, h('thead', {}, header), h('tbody', {}, ...body)));
    this.diffButton.disabled = this.selected.length !== 2;
  }

  private toggle(runId: string, on: boolean): void {
    this.selected = this.selected.filter(id => id !== runId);
    if (on) {
      this.selected.push(runId);
    }
    // Keep the two most recent picks.
    while (this.selected.length > 2) {
      const dropped = this.selected.shift()!;
      const box = this.table.querySelector<HTMLInputElement>(`input[data-run-id="${CSS.escape(dropped)}"]`);
      if (box) {
        box.checked = false;
      }
    }
    this.diffButton.disabled = this.selected.length !== 2;
  }

  /**
   * `nbprod reproduce RUN --isolated` as a server job: the status line follows its progress
   * (locking, building or reusing the environment, the running cell) and ends with the
   * verdict: a match, the first differing cell, or why the environment cannot be built.
   */
  async reproduce(runId: string): Promise<void> {
    const panel = this.notebook;
    const say = (text: string, kind: 'info' | 'error' | 'busy' = 'busy') => {
      if (this.owns(panel)) {
        this.setStatus(text, kind);
      }
    };
    await this.busy(`Reproducing run ${runId} in its environment…`, async () => {
      let job = await this.ctx.client.startReproduce(this.path, runId, true);
      while (job.state === 'running') {
        await new Promise(resolve => setTimeout(resolve, 1000));
        job = await this.ctx.client.job(job.job_id);
        const step = job.progress ? ` · ${job.progress}` : '';
        say(`Reproducing run ${runId} in its environment… ${job.elapsed_s.toFixed(0)} s${step}`);
      }
      const result = job.kind === 'reproduce' ? job.result : null;
      // The table gains the new run; the verdict is said after, so it stays on screen.
      await this.refresh();
      if (job.state === 'succeeded') {
        const reused = result?.isolated?.cached ? 'reused' : 'built';
        say(`Reproduced: run ${result?.run_id ?? ''} matches run ${runId} (environment ${reused}).`, 'info');
      } else {
        say(reproduceFailure(job, runId), 'error');
      }
    });
  }

  /** Open the run's report (receipt and executed notebook) in a main-area tab. */
  async report(runId: string): Promise<void> {
    const panel = this.notebook;
    await this.busy('Writing the report…', async () => {
      const page = await this.ctx.client.runReport(this.path, runId);
      this.ctx.openPage(`nbprod-report-${runId}`, `Report ${runId.split('-').pop()}`, page.html);
      if (this.owns(panel)) {
        this.setStatus(`Opened the report of run ${runId}.`);
      }
    });
  }

  async compare(): Promise<void> {
    if (this.selected.length !== 2) {
      return;
    }
    // Run ids start with their UTC start time, so sorting them puts the older run first.
    const [a, b] = [...this.selected].sort();
    const panel = this.notebook;
    await this.busy('Comparing…', async () => {
      const result = await this.ctx.client.diffRuns(this.path, a, b);
      if (!this.owns(panel)) {
        return;
      }
      this.setStatus(
        result.identical ? 'The runs are identical.' : `From run ${a} to run ${b}:`
      );
      replace(this.diff, diffView(result));
    });
  }
}
