/** The Runs section: this notebook's receipts in a table; pick two to see their diff. */
import { h, replace } from './dom';
import { NbprodRequestError } from './request';
import { ISectionContext, Section } from './section';

/** One row of `nbprod runs list --output-format json`. */
interface IRunRow {
  run_id: string;
  status: string;
  started: string;
  duration_s: number | null;
  parameters: Record<string, unknown>;
}

/** Flatten a diff into "path: value" lines, skipping empty parts. */
export function diffLines(value: unknown, prefix = ''): string[] {
  if (value === null || value === undefined) {
    return [];
  }
  if (Array.isArray(value)) {
    if (!value.length) {
      return [];
    }
    if (value.every(v => v === null || typeof v !== 'object')) {
      return [`${prefix}: ${value.map(v => JSON.stringify(v)).join(', ')}`];
    }
    return ([] as string[]).concat(...value.map((v, i) => diffLines(v, `${prefix}[${i}]`)));
  }
  if (typeof value === 'object') {
    return ([] as string[]).concat(
      ...Object.entries(value as Record<string, unknown>).map(([k, v]) =>
        diffLines(v, prefix ? `${prefix}.${k}` : k)
      )
    );
  }
  return [`${prefix}: ${JSON.stringify(value)}`];
}

/** Merge "x.a: 1" and "x.b: 2" lines into "x: 1 → 2" (the diff's before/after pairs). */
export function pairChanges(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const first = /^(.*)\.a: (.*)$/.exec(lines[i]);
    const second = i + 1 < lines.length ? /^(.*)\.b: (.*)$/.exec(lines[i + 1]) : null;
    if (first && second && first[1] === second[1]) {
      out.push(`${first[1]}: ${first[2]} → ${second[2]}`);
      i++;
    } else {
      out.push(lines[i]);
    }
  }
  return out;
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
      this.diffButton
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
    const path = this.path;
    try {
      const rows: IRunRow[] = await this.ctx.client.runs(path);
      if (path === this.path) {
        this.render(rows);
      }
    } catch (error) {
      replace(this.table);
      if (error instanceof NbprodRequestError && error.status === 400) {
        // No run store yet: the normal state of a notebook never run.
        this.setStatus('No runs yet.', 'info');
      } else {
        this.showError(error);
      }
    }
  }

  private render(rows: IRunRow[]): void {
    this.selected = this.selected.filter(id => rows.some(r => r.run_id === id));
    this.setStatus(rows.length ? `${rows.length} run${rows.length === 1 ? '' : 's'}` : 'No runs yet.');
    if (!rows.length) {
      replace(this.table);
      return;
    }
    const header = h('tr', {}, ...['', 'run', 'status', 'parameters', ''].map(t => h('th', {}, t)));
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
        h('td', {}, row.run_id.split('-').pop() ?? row.run_id),
        h('td', { className: `nbprod-run-${row.status}` }, row.status),
        h('td', { className: 'nbprod-run-params' }, params),
        h(
          'td',
          {},
          h(
            'button',
            {
              className: 'jp-Button jp-mod-styled jp-mod-minimal nbprod-run-report',
              title: 'Open the report of this run in a tab',
              onClick: () => void this.report(row.run_id)
            },
            'Report'
          )
        )
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

  /** Open the run's report (receipt and executed notebook) in a main-area tab. */
  async report(runId: string): Promise<void> {
    const path = this.path;
    await this.busy('Writing the report…', async () => {
      const page = await this.ctx.client.runReport(path, runId);
      this.ctx.openPage(`nbprod-report-${runId}`, `Report ${runId.split('-').pop()}`, page.html);
      this.setStatus(`Opened the report of run ${runId}.`);
    });
  }

  async compare(): Promise<void> {
    if (this.selected.length !== 2) {
      return;
    }
    // Run ids start with their UTC start time, so sorting them puts the older run first.
    const [a, b] = [...this.selected].sort();
    await this.busy('Comparing…', async () => {
      const result = await this.ctx.client.diffRuns(this.path, a, b);
      const lines = pairChanges(diffLines(result).filter(l => !/^(a|b):/.test(l)));
      this.setStatus(
        result.identical ? 'The runs are identical.' : `From run ${a} to run ${b}:`
      );
      replace(this.diff, h('pre', { className: 'nbprod-diff' }, lines.join('\n')));
    });
  }
}
