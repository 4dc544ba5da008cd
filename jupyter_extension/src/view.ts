/**
 * The nbprod view: a main-area tab for one notebook, with room for pictures.
 *
 * - Runs: every receipt as a row (parameters and recorded values as columns, sortable), a
 *   chart of a recorded value over the runs or against a parameter, two runs compared.
 * - Pipeline: the DAG drawn with each step's cache state and why it would run; run it.
 * - Lineage: a run's input files and their hashes, the run, the files it wrote.
 */
import { Widget } from '@lumino/widgets';

import { h, replace } from './dom';
import { diffView, reproduceFailure, showValue } from './runs';
import type { IDataEntry, IRunSummary } from './api';
import { INbprodClient } from './tokens';

type Column = { key: string; label: string; value: (run: IRunSummary) => unknown };

/** Compare two cell values for sorting: numbers as numbers, the rest as text. */
export function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') {
    return a - b;
  }
  if (a === undefined || a === null) {
    return b === undefined || b === null ? 0 : 1;
  }
  if (b === undefined || b === null) {
    return -1;
  }
  return String(a).localeCompare(String(b));
}

/** A small scatter plot as an SVG element (`points`: x, y, label). */
export function scatter(points: [number, number, string][], xLabel: string, yLabel: string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const [w, hgt, left, bottom, top, right] = [420, 260, 60, 40, 12, 16];
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(hgt));
  svg.setAttribute('class', 'nbprod-chart');
  const xs = points.map(p => p[0]);
  const ys = points.map(p => p[1]);
  const span = (values: number[]) => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
  };
  const [x0, x1] = span(xs);
  const [y0, y1] = span(ys);
  const sx = (x: number) => left + ((x - x0) / (x1 - x0)) * (w - left - right);
  const sy = (y: number) => hgt - bottom - ((y - y0) / (y1 - y0)) * (hgt - top - bottom);
  const add = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const node = document.createElementNS(ns, tag);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, String(v)));
    if (text !== undefined) {
      node.textContent = text;
    }
    svg.append(node);
    return node;
  };
  add('rect', { x: left, y: top, width: w - left - right, height: hgt - top - bottom, class: 'nbprod-chart-area' });
  for (const [value, anchor] of [[y0, 'end'], [y1, 'end']] as [number, string][]) {
    add('text', { x: left - 6, y: sy(value) + 4, 'text-anchor': anchor, class: 'nbprod-chart-tick' }, showValue(value));
  }
  for (const value of [x0, x1]) {
    add('text', { x: sx(value), y: hgt - bottom + 14, 'text-anchor': 'middle', class: 'nbprod-chart-tick' }, showValue(value));
  }
  add('text', { x: (left + w - right) / 2, y: hgt - 6, 'text-anchor': 'middle', class: 'nbprod-chart-label' }, xLabel);
  add('text', { x: 12, y: hgt / 2, transform: `rotate(-90 12 ${hgt / 2})`, 'text-anchor': 'middle', class: 'nbprod-chart-label' }, yLabel);
  for (const [x, y, label] of points) {
    const dot = add('circle', { cx: sx(x), cy: sy(y), r: 5, class: 'nbprod-chart-point' });
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${label}: ${yLabel} = ${showValue(y)}`;
    dot.append(title);
  }
  return svg;
}

export class NbprodView extends Widget {
  private readonly tabs: HTMLElement;
  private readonly runsPane: HTMLElement;
  private readonly pipelinePane: HTMLElement;
  private readonly lineagePane: HTMLElement;
  private runs: IRunSummary[] = [];
  private sort: { key: string; descending: boolean } = { key: 'started', descending: true };
  private selected: string[] = [];

  constructor(
    private readonly client: INbprodClient,
    public path: string,
    private readonly openPage: (id: string, title: string, html: string) => void
  ) {
    super({ node: h('div', { className: 'nbprod-view' }) });
    replace(this.heading, `nbprod: ${path}`);
    this.title.label = this.label;
    this.runsPane = h('section', { className: 'nbprod-view-pane nbprod-view-runs', 'data-pane': 'runs' });
    this.pipelinePane = h('section', { className: 'nbprod-view-pane nbprod-view-pipeline', 'data-pane': 'pipeline' });
    this.lineagePane = h('section', { className: 'nbprod-view-pane nbprod-view-lineage', 'data-pane': 'lineage' });
    this.tabs = h(
      'nav',
      { className: 'nbprod-view-tabs', role: 'tablist' },
      ...[
        ['runs', 'Runs'],
        ['pipeline', 'Pipeline'],
        ['lineage', 'Lineage']
      ].map(([key, label]) =>
        h('button', { className: 'jp-Button nbprod-view-tab', role: 'tab', 'data-pane': key, onClick: () => void this.open(key) }, label)
      )
    );
    this.node.append(
      this.heading,
      this.tabs,
      this.runsPane,
      this.pipelinePane,
      this.lineagePane
    );
    void this.open('runs');
  }

  private readonly heading: HTMLElement = h('h2', { className: 'nbprod-view-title' });

  /** The title of the view's tab and heading: `nbprod: NAME`. */
  get label(): string {
    return `nbprod: ${this.path.split('/').pop()}`;
  }

  /** The notebook was renamed or moved: the view follows it (its title and its requests). */
  setPath(path: string): void {
    this.path = path;
    replace(this.heading, `nbprod: ${path}`);
    this.title.label = this.label;
  }

  /** Bring a pane to the front, (re)loading what it shows. */
  async open(key: string, runId?: string): Promise<void> {
    for (const pane of [this.runsPane, this.pipelinePane, this.lineagePane]) {
      pane.hidden = pane.dataset.pane !== key;
    }
    this.tabs.querySelectorAll<HTMLElement>('.nbprod-view-tab').forEach(tab =>
      tab.classList.toggle('nbprod-active', tab.dataset.pane === key)
    );
    try {
      if (key === 'runs') {
        await this.loadRuns();
      } else if (key === 'pipeline') {
        await this.loadPipeline();
      } else {
        await this.loadLineage(runId ?? this.runs[0]?.run_id);
      }
    } catch (error) {
      const pane = key === 'runs' ? this.runsPane : key === 'pipeline' ? this.pipelinePane : this.lineagePane;
      replace(pane, h('p', { className: 'nbprod-status nbprod-status-error' }, error instanceof Error ? error.message : String(error)));
    }
  }

  // -- runs ----------------------------------------------------------------------------------

  private async loadRuns(): Promise<void> {
    replace(this.runsPane, h('p', { className: 'nbprod-status nbprod-status-busy' }, 'Loading runs…'));
    // Runs of the notebook itself (a sweep's runs included); pipeline steps have their tab.
    const rows: IRunSummary[] = await this.client.runs(this.path);
    this.runs = rows.filter(r => r.kind === 'run' || r.kind === 'reproduce');
    this.drawRuns();
  }

  private columns(): Column[] {
    const names = (pick: (run: IRunSummary) => Record<string, unknown>): string[] => {
      const found: string[] = [];
      for (const run of this.runs) {
        for (const name of Object.keys(pick(run) ?? {})) {
          if (!found.includes(name)) {
            found.push(name);
          }
        }
      }
      return found;
    };
    const params = names(r => r.parameters);
    const records = names(r => r.records);
    return [
      { key: 'run_id', label: 'run', value: r => r.run_id },
      { key: 'status', label: 'status', value: r => r.status },
      { key: 'started', label: 'started', value: r => r.started },
      { key: 'duration', label: 'duration (s)', value: r => (r.duration_s === null ? null : Number(r.duration_s.toFixed(1))) },
      ...params.map(p => ({ key: `p:${p}`, label: p, value: (r: IRunSummary) => r.parameters?.[p] })),
      ...records.map(p => ({ key: `r:${p}`, label: p, value: (r: IRunSummary) => r.records?.[p] }))
    ];
  }

  private drawRuns(): void {
    if (!this.runs.length) {
      replace(this.runsPane, h('p', {}, 'No runs of this notebook yet: run it from the sidebar or with `nbprod run`.'));
      return;
    }
    const columns = this.columns();
    const column = columns.find(c => c.key === this.sort.key) ?? columns[2];
    const rows = [...this.runs].sort((a, b) => compareValues(column.value(a), column.value(b)) * (this.sort.descending ? -1 : 1));
    const head = h(
      'tr',
      {},
      h('th', {}, ''),
      ...columns.map(c =>
        h(
          'th',
          {
            className: `nbprod-sortable${c.key === this.sort.key ? ' nbprod-sorted' : ''}${c.key.startsWith('r:') ? ' nbprod-record' : ''}`,
            'data-key': c.key,
            title: 'Sort by this column',
            onClick: () => {
              this.sort = { key: c.key, descending: c.key === this.sort.key ? !this.sort.descending : false };
              this.drawRuns();
            }
          },
          c.label,
          c.key === this.sort.key ? (this.sort.descending ? ' ▾' : ' ▴') : ''
        )
      ),
      h('th', {}, '')
    );
    const body = rows.map(run =>
      h(
        'tr',
        { className: 'nbprod-view-run', 'data-run-id': run.run_id },
        h('td', {}, h('input', { type: 'checkbox', checked: this.selected.includes(run.run_id), onChange: (e: Event) => this.select(run.run_id, (e.target as HTMLInputElement).checked) })),
        ...columns.map(c => {
          const value = c.value(run);
          const text = c.key === 'run_id' ? run.run_id.split('-').pop() ?? '' : c.key === 'started' ? String(value ?? '').slice(0, 19).replace('T', ' ') : value === undefined || value === null ? '' : typeof value === 'string' && !c.key.startsWith('p:') ? value : showValue(value);
          return h('td', { className: `${c.key === 'status' ? `nbprod-run-${run.status}` : ''}`, 'data-key': c.key }, text);
        }),
        h(
          'td',
          { className: 'nbprod-view-actions' },
          h('button', { className: 'jp-Button jp-mod-minimal nbprod-view-report', onClick: () => void this.report(run.run_id) }, 'Report'),
          h('button', { className: 'jp-Button jp-mod-minimal nbprod-view-lineage-button', onClick: () => void this.open('lineage', run.run_id) }, 'Lineage'),
          h('button', { className: 'jp-Button jp-mod-minimal nbprod-view-reproduce', onClick: () => void this.reproduce(run.run_id) }, 'Reproduce')
        )
      )
    );
    const numeric = (c: Column) => this.runs.some(r => typeof c.value(r) === 'number');
    const yChoices = columns.filter(c => c.key.startsWith('r:') && numeric(c));
    const xChoices = [{ key: 'order', label: 'run (oldest first)' }, ...columns.filter(c => c.key.startsWith('p:') && numeric(c))];
    const chart = h('div', { className: 'nbprod-view-chart' });
    const ySelect = h('select', { className: 'nbprod-chart-y', onChange: () => draw() }, ...yChoices.map(c => h('option', { value: c.key }, c.label)));
    const xSelect = h('select', { className: 'nbprod-chart-x', onChange: () => draw() }, ...xChoices.map(c => h('option', { value: c.key }, c.label)));
    const draw = () => {
      const y = columns.find(c => c.key === ySelect.value);
      if (!y) {
        replace(chart, h('p', { className: 'nbprod-hint' }, 'No recorded numbers to chart: record some with nbprod.record(name, value).'));
        return;
      }
      const ordered = [...this.runs].sort((a, b) => compareValues(a.started, b.started));
      const x = columns.find(c => c.key === xSelect.value);
      const points = ordered
        .map((run, index) => [x ? x.value(run) : index + 1, y.value(run), run.run_id] as [unknown, unknown, string])
        .filter((p): p is [number, number, string] => typeof p[0] === 'number' && typeof p[1] === 'number');
      replace(chart, points.length ? scatter(points, x ? x.label : 'run', y.label) : h('p', {}, 'No run has both values.'));
    };
    this.diffPane = h('div', { className: 'nbprod-view-diff' });
    this.compareButton = h('button', { className: 'jp-Button jp-mod-styled nbprod-view-compare', disabled: this.selected.length !== 2, onClick: () => void this.compare() }, 'Compare the two selected runs');
    replace(
      this.runsPane,
      h('div', { className: 'nbprod-view-toolbar' }, this.compareButton, h('button', { className: 'jp-Button jp-mod-styled', onClick: () => void this.loadRuns() }, 'Refresh')),
      this.runsStatus,
      h('div', { className: 'nbprod-view-scroll' }, h('table', { className: 'nbprod-table nbprod-view-table' }, h('thead', {}, head), h('tbody', {}, ...body))),
      h('div', { className: 'nbprod-view-chart-controls' }, 'Chart ', ySelect, ' against ', xSelect),
      chart,
      this.diffPane
    );
    draw();
  }

  private diffPane: HTMLElement = h('div');
  private readonly runsStatus: HTMLElement = h('p', { className: 'nbprod-status nbprod-view-status', role: 'status' });

  /** Rerun a recorded run with its parameters and say whether its outputs match. */
  private async reproduce(runId: string): Promise<void> {
    const say = (text: string, kind = 'busy') => {
      this.runsStatus.className = `nbprod-status nbprod-view-status nbprod-status-${kind}`;
      replace(this.runsStatus, text);
    };
    say(`Reproducing run ${runId}…`);
    try {
      let job = await this.client.startReproduce(this.path, runId);
      while (job.state === 'running') {
        await new Promise(resolve => setTimeout(resolve, 1000));
        job = await this.client.job(job.job_id);
        say(`Reproducing run ${runId}… ${job.elapsed_s.toFixed(0)} s${job.progress ? ' · ' + job.progress : ''}`);
      }
      const result = job.kind === 'reproduce' ? job.result : null;
      if (job.state === 'succeeded') {
        say(`Reproduced: run ${result?.run_id ?? ''} matches run ${runId}.`, 'info');
      } else {
        say(reproduceFailure(job, runId), 'error');
      }
      await this.loadRuns();
    } catch (error) {
      say(error instanceof Error ? error.message : String(error), 'error');
    }
  }
  private compareButton: HTMLButtonElement = h('button');

  private select(runId: string, on: boolean): void {
    this.selected = this.selected.filter(id => id !== runId);
    if (on) {
      this.selected.push(runId);
    }
    this.selected = this.selected.slice(-2);
    this.runsPane.querySelectorAll<HTMLInputElement>('.nbprod-view-run input[type=checkbox]').forEach(box => {
      box.checked = this.selected.includes(box.closest('tr')?.dataset.runId ?? '');
    });
    this.compareButton.disabled = this.selected.length !== 2;
  }

  private async compare(): Promise<void> {
    const [a, b] = [...this.selected].sort();
    replace(this.diffPane, h('p', { className: 'nbprod-status nbprod-status-busy' }, 'Comparing…'));
    const result = await this.client.diffRuns(this.path, a, b);
    replace(this.diffPane, h('h3', {}, `From run ${a} to run ${b}`), diffView(result));
  }

  private async report(runId: string): Promise<void> {
    const page = await this.client.runReport(this.path, runId);
    this.openPage(`nbprod-report-${runId}`, `Report ${runId.split('-').pop()}`, page.html);
  }

  // -- pipeline ------------------------------------------------------------------------------

  private async loadPipeline(): Promise<void> {
    replace(this.pipelinePane, h('p', { className: 'nbprod-status nbprod-status-busy' }, 'Reading the pipeline…'));
    const dag = await this.client.pipelineDag(this.path);
    const image = h('img', {
      className: 'nbprod-view-dag',
      alt: `The steps of pipeline ${dag.name}`,
      src: 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(dag.svg)))
    });
    const rows = dag.steps.map(step =>
      h(
        'tr',
        { className: 'nbprod-view-step', 'data-step': step.name },
        h('td', {}, step.name),
        h('td', {}, step.runs ?? ''),
        h('td', { className: step.cached ? 'nbprod-state-ok' : 'nbprod-state-stale' }, step.cached ? 'cached' : 'would run'),
        h('td', {}, step.cached ? `run ${step.run_id ?? ''}` : step.reason ?? ''),
        h('td', {}, h('button', { className: 'jp-Button jp-mod-minimal nbprod-view-run-step', title: 'Run this step (its upstream steps must be cached)', onClick: () => void this.runPipeline(status, step.name) }, 'Run'))
      )
    );
    const status = h('p', { className: 'nbprod-status' });
    const run = h('button', { className: 'jp-Button jp-mod-styled nbprod-view-run-pipeline', onClick: () => void this.runPipeline(status) }, 'Run the pipeline');
    replace(
      this.pipelinePane,
      h('div', { className: 'nbprod-view-toolbar' }, run, h('button', { className: 'jp-Button jp-mod-styled', onClick: () => void this.loadPipeline() }, 'Refresh')),
      status,
      image,
      h('table', { className: 'nbprod-table' }, h('thead', {}, h('tr', {}, ...['step', 'runs', 'cache', 'why', ''].map(t => h('th', {}, t)))), h('tbody', {}, ...rows))
    );
  }

  private async runPipeline(status: HTMLElement, step?: string): Promise<void> {
    status.className = 'nbprod-status nbprod-status-busy';
    replace(status, step ? `Running step ${step}…` : 'Running the pipeline…');
    let job = await this.client.startPipeline(this.path, step);
    while (job.state === 'running') {
      await new Promise(resolve => setTimeout(resolve, 1000));
      job = await this.client.job(job.job_id);
      replace(status, `Running the pipeline… ${job.elapsed_s.toFixed(0)} s${job.progress ? ' · ' + job.progress : ''}`);
    }
    await this.loadPipeline();
    const pane = this.pipelinePane.querySelector<HTMLElement>('.nbprod-status');
    if (pane) {
      pane.className = `nbprod-status ${job.state === 'succeeded' ? '' : 'nbprod-status-error'}`;
      replace(pane, job.state === 'succeeded' ? `The pipeline ran in ${job.elapsed_s.toFixed(1)} s.` : `The pipeline ${job.state}: ${job.error?.message ?? ''}`);
    }
  }

  // -- lineage -------------------------------------------------------------------------------

  private async loadLineage(runId: string | undefined): Promise<void> {
    if (!runId) {
      if (!this.runs.length) {
        await this.loadRuns();
      }
      runId = this.runs[0]?.run_id;
    }
    if (!runId) {
      replace(this.lineagePane, h('p', {}, 'No runs of this notebook yet.'));
      return;
    }
    const receipt = await this.client.showRun(this.path, runId);
    const data = receipt.data ?? [];
    const box = (title: string, items: HTMLElement[]) => h('div', { className: 'nbprod-lineage-box' }, h('strong', {}, title), ...(items.length ? items : [h('div', { className: 'nbprod-hint' }, 'none')]));
    const entry = (d: IDataEntry) =>
      h(
        'div',
        { className: 'nbprod-lineage-file', 'data-path': d.path },
        h('code', {}, d.path),
        ' ',
        h('span', { className: 'nbprod-hint' }, String(d.hash ?? '').replace('blake3:', '').slice(0, 12)),
        d.profile?.rows !== undefined ? h('div', { className: 'nbprod-hint' }, `${d.profile.rows} rows × ${(d.profile.columns ?? []).length} columns`) : null,
        d.changed_during_run ? h('div', { className: 'nbprod-status-error' }, 'changed while the run read it') : null
      );
    replace(
      this.lineagePane,
      h('p', {}, `Run ${runId} (${receipt.status}) of ${receipt.notebook?.path ?? this.path}`),
      h(
        'div',
        { className: 'nbprod-lineage' },
        box('inputs', data.filter(d => d.role === 'input').map(entry)),
        h('div', { className: 'nbprod-lineage-arrow' }, '→'),
        box('run', [h('div', {}, h('code', {}, runId)), h('div', { className: 'nbprod-hint' }, `parameters: ${Object.entries(receipt.parameters ?? {}).map(([k, v]) => `${k}=${showValue(v)}`).join(', ') || 'defaults'}`)]),
        h('div', { className: 'nbprod-lineage-arrow' }, '→'),
        box('outputs', [...data.filter(d => d.role !== 'input').map(entry), ...(receipt.models ?? []).map(m => h('div', {}, `model ${m.name}`))])
      )
    );
  }
}
