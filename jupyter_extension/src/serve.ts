/** The Serve section: the notebook's local model service (`nbprod serve`), started and stopped
 * by the server; a request form built from the service's request schema, the answer, and the
 * drift of the requests so far against the training data. */
import type {
  IDriftFeature,
  IDriftReport,
  IProfileColumn,
  IRequestSchema,
  ISchemaField,
  IServeMetadata,
  IServeStatus
} from './api';
import { h, replace } from './dom';
import { NbprodRequestError } from './request';
import { ISectionContext, Section } from './section';

/** One column of a request as the form asks for it. */
export interface IColumn {
  name: string;
  kind: 'number' | 'integer' | 'boolean' | 'category';
  nullable: boolean;
  /** The training categories (a select offers them). */
  choices: (string | number | boolean)[];
  /** The training range, shown as the placeholder. */
  hint: string;
}

/** The columns of a record, in training order, from the service's JSON schema and profile. */
export function columnsOf(schema: IRequestSchema, profile: IProfileColumn[] = []): IColumn[] {
  const name = schema.items.$ref.split('/').pop() ?? '';
  const row = schema.$defs[name];
  if (!row) {
    return [];
  }
  return Object.entries(row.properties).map(([column, field]) => {
    const variants: ISchemaField[] = field.anyOf ?? [field];
    const value = variants.find(v => v.type !== 'null') ?? field;
    const nullable = variants.some(v => v.type === 'null');
    const kind = value.enum
      ? 'category'
      : value.type === 'integer' || value.type === 'boolean'
        ? value.type
        : 'number';
    const trained = profile.find(c => c.name === column);
    const range =
      trained && typeof trained.min === 'number' && typeof trained.max === 'number'
        ? `${trained.min} – ${trained.max}`
        : '';
    return { name: column, kind, nullable, choices: value.enum ?? [], hint: range };
  });
}

/**
 * The value of a field's text for its column.
 *
 * @returns the value (null for an empty field of a nullable column), or what is wrong
 */
export function parseField(column: IColumn, text: string): { value: unknown } | { error: string } {
  const value = text.trim();
  if (!value) {
    return column.nullable ? { value: null } : { error: 'required' };
  }
  switch (column.kind) {
    case 'integer':
      return /^[+-]?\d+$/.test(value) ? { value: Number(value) } : { error: 'expected a whole number' };
    case 'number':
      return !isNaN(Number(value)) ? { value: Number(value) } : { error: 'expected a number' };
    case 'boolean':
      return { value: value === 'true' };
    default: {
      // Categories keep the type the training data had (the select's index points to it).
      const chosen = column.choices.find(c => String(c) === value);
      return chosen === undefined ? { error: 'not a training category' } : { value: chosen };
    }
  }
}

interface IField {
  column: IColumn;
  input: HTMLInputElement | HTMLSelectElement;
  error: HTMLElement;
}

export class ServeSection extends Section {
  private service: IServeStatus | null = null;
  private fields: IField[] = [];
  private readonly choice: HTMLElement;
  private readonly modelInput: HTMLInputElement;
  private readonly runInput: HTMLInputElement;
  private readonly form: HTMLFormElement;
  private readonly answer: HTMLElement;
  private readonly drift: HTMLElement;
  private readonly startButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private readonly predictButton: HTMLButtonElement;

  constructor(ctx: ISectionContext) {
    super('serve', 'Serve', 'serve', ctx);
    this.startButton = this.button('Start', 'nbprod-serve-start', () => void this.start());
    this.stopButton = this.button('Stop', 'nbprod-serve-stop', () => void this.stop());
    this.toolbar.append(
      this.startButton,
      this.stopButton,
      this.button('Refresh', 'nbprod-serve-refresh', () => void this.refresh())
    );
    this.modelInput = h('input', {
      type: 'text',
      className: 'nbprod-serve-model',
      placeholder: 'NAME or NAME@ALIAS'
    });
    this.runInput = h('input', { type: 'text', className: 'nbprod-serve-run', placeholder: 'run id' });
    this.choice = h(
      'div',
      { className: 'nbprod-serve-choice' },
      h('div', { className: 'nbprod-field' }, h('label', {}, 'Model'), this.modelInput),
      h('div', { className: 'nbprod-field' }, h('label', {}, 'or the model of run'), this.runInput),
      h('span', { className: 'nbprod-help' }, "Both empty: the newest run of this notebook that recorded a model.")
    );
    this.form = h('form', {
      className: 'nbprod-serve-form',
      onSubmit: (event: Event) => {
        event.preventDefault();
        void this.predict();
      }
    });
    // The form's submit button: a click or Enter in a field sends the record once.
    this.predictButton = h(
      'button',
      { type: 'submit', className: 'jp-Button jp-mod-styled nbprod-button nbprod-serve-predict' },
      'Predict'
    );
    this.answer = h('div', { className: 'nbprod-serve-answer', role: 'status' });
    this.drift = h('div', { className: 'nbprod-serve-drift' });
  }

  protected onNotebook(): void {
    this.body.append(this.choice, this.form, this.answer, this.drift);
    this.service = null;
    this.fields = [];
    for (const node of [this.form, this.answer, this.drift]) {
      replace(node);
    }
    this.showState();
    void this.refresh();
  }

  /** Ask the server whether this notebook's service runs; draw the form and drift if so. */
  async refresh(): Promise<void> {
    if (!this.ready) {
      return;
    }
    const panel = this.notebook;
    await this.busy('Asking the server…', async () => {
      const status = await this.ctx.client.serveStatus(this.path);
      if (!this.owns(panel)) {
        return;
      }
      const wasRunning = this.service?.running ?? false;
      this.service = status;
      this.showState();
      if (!status.running) {
        this.fields = [];
        replace(this.form);
        replace(this.drift);
        return;
      }
      if (!wasRunning || !this.fields.length) {
        await this.loadForm();
      }
      await this.loadDrift();
    });
  }

  /**
   * Start the service (or find the running one), then build the form from its schema. Stop
   * stays available while the model loads: it ends the start, which is then not an error.
   */
  async start(): Promise<void> {
    if (!this.ready) {
      return;
    }
    const panel = this.notebook;
    const model = this.modelInput.value.trim();
    const run = this.runInput.value.trim();
    this.startButton.disabled = true;
    this.stopButton.disabled = false;
    await this.busy('Starting the model service…', async () => {
      await this.saveFirst();
      let status: IServeStatus;
      try {
        status = await this.ctx.client.startService(this.path, {
          ...(model ? { model } : {}),
          ...(run ? { run } : {})
        });
      } catch (error) {
        if (this.owns(panel)) {
          this.showState(); // Start applies again
        }
        if (error instanceof NbprodRequestError && error.error === 'Stopped') {
          return; // the Stop button's own answer says so
        }
        throw error;
      }
      if (!this.owns(panel)) {
        return;
      }
      this.service = status;
      this.showState();
      await this.loadForm();
      await this.loadDrift();
    });
  }

  async stop(): Promise<void> {
    if (!this.ready) {
      return;
    }
    const panel = this.notebook;
    await this.busy('Stopping the model service…', async () => {
      const status = await this.ctx.client.stopService(this.path);
      if (this.owns(panel)) {
        this.service = status;
        this.fields = [];
        replace(this.form);
        replace(this.answer);
        replace(this.drift);
        this.showState();
      }
    });
  }

  /** Send the form's record to the service; show the answer, or what it refused. */
  async predict(): Promise<void> {
    if (!this.ready || !this.service?.running) {
      return;
    }
    const record: Record<string, unknown> = {};
    let valid = true;
    for (const field of this.fields) {
      const parsed = parseField(field.column, field.input.value);
      const message = 'error' in parsed ? parsed.error : '';
      replace(field.error, message);
      field.input.classList.toggle('nbprod-invalid', !!message);
      if ('value' in parsed) {
        record[field.column.name] = parsed.value;
      } else {
        valid = false;
      }
    }
    if (!valid) {
      replace(this.answer, h('span', { className: 'nbprod-serve-refused' }, 'Fix the fields marked above.'));
      return;
    }
    const panel = this.notebook;
    try {
      const answer = await this.ctx.client.predict(this.path, record);
      if (!this.owns(panel)) {
        return;
      }
      replace(
        this.answer,
        h('span', {}, 'Prediction: '),
        h('strong', { className: 'nbprod-serve-prediction' }, answer.predictions.map(p => JSON.stringify(p)).join(', ')),
        h('span', { className: 'nbprod-help' }, ` (model ${answer.model}, run ${answer.run_id})`)
      );
      await this.loadDrift();
    } catch (error) {
      if (this.owns(panel)) {
        this.refused(error);
      }
    }
  }

  /** A refusal of the service: each problem under its field, the message as the answer. */
  private refused(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    replace(this.answer, h('span', { className: 'nbprod-serve-refused' }, message));
    if (error instanceof NbprodRequestError && error.status === 409) {
      void this.refresh();
    }
    const problems = error instanceof NbprodRequestError ? error.problems : [];
    for (const problem of problems) {
      const field = this.fields.find(f => f.column.name === problem.field);
      if (field) {
        replace(field.error, problem.message);
        field.input.classList.add('nbprod-invalid');
      }
    }
  }

  private async loadForm(): Promise<void> {
    const panel = this.notebook;
    const meta: IServeMetadata = await this.ctx.client.serviceMetadata(this.path);
    if (!this.owns(panel)) {
      return;
    }
    this.fields = columnsOf(meta.schema, meta.profile?.columns ?? []).map(c => this.field(c));
    replace(
      this.form,
      ...this.fields.map(f => f.input.closest('.nbprod-field') as HTMLElement),
      h('div', { className: 'nbprod-toolbar' }, this.predictButton)
    );
    replace(this.answer);
  }

  private field(column: IColumn): IField {
    const error = h('span', { className: 'nbprod-field-error' });
    let input: HTMLInputElement | HTMLSelectElement;
    if (column.kind === 'category' || column.kind === 'boolean') {
      const options = column.kind === 'boolean' ? [true, false] : column.choices;
      input = h(
        'select',
        { name: column.name },
        ...(column.nullable ? [h('option', { value: '' }, '(missing)')] : []),
        ...options.map(o => h('option', { value: String(o) }, String(o)))
      );
    } else {
      const hint = [column.hint, column.nullable ? 'empty: missing' : ''].filter(Boolean).join(', ');
      // The field is narrow: the whole hint is also its tooltip.
      input = h('input', {
        type: 'number',
        step: column.kind === 'integer' ? '1' : 'any',
        name: column.name,
        placeholder: hint,
        title: hint || undefined
      });
    }
    input.classList.add('nbprod-serve-field');
    h(
      'div',
      { className: 'nbprod-field', 'data-column': column.name },
      h('label', { title: `${column.name}: ${column.kind}` }, column.name),
      input,
      error
    );
    return { column, input, error };
  }

  private async loadDrift(): Promise<void> {
    const panel = this.notebook;
    const report = await this.ctx.client.drift(this.path);
    if (this.owns(panel)) {
      replace(this.drift, driftTable(report));
    }
  }

  /** The status line and which buttons apply. */
  private showState(): void {
    const running = !!this.service?.running;
    this.startButton.disabled = running;
    this.stopButton.disabled = !running;
    this.choice.style.display = running ? 'none' : '';
    if (!this.notebook) {
      return;
    }
    if (running && this.service) {
      this.setStatus(
        `Serving model ${this.service.model} of run ${this.service.run_id} on 127.0.0.1:${this.service.port}.`
      );
    } else {
      this.setStatus('Not serving. Start serves the model of a run of this notebook (nbprod serve).');
    }
  }
}

/** The drift of the requests so far, one row per feature, as `nbprod drift` prints it. */
export function driftTable(report: IDriftReport): HTMLElement {
  const header = h('tr', {}, ...['feature', 'PSI', 'missing Δ', 'verdict'].map(t => h('th', {}, t)));
  const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
  // The change of the missing rate in percentage points; the two rates on hover.
  const change = (rate: IDriftFeature['missing_rate']) => {
    const points = (rate.live - rate.training) * 100;
    return `${points >= 0 ? '+' : '−'}${Math.abs(points).toFixed(1)} pp`;
  };
  const rows = report.features.map(f =>
    h(
      'tr',
      { className: 'nbprod-drift-row', 'data-feature': f.feature },
      h('td', {}, f.feature),
      h('td', {}, f.psi === null ? '–' : f.psi.toFixed(3)),
      h(
        'td',
        { title: `missing: ${percent(f.missing_rate.training)} in training, ${percent(f.missing_rate.live)} live` },
        change(f.missing_rate)
      ),
      h('td', { className: `nbprod-drift-${f.verdict.replace(/ /g, '-')}` }, f.verdict)
    )
  );
  const summary =
    report.rows < report.min_rows
      ? `${report.rows} request row${report.rows === 1 ? '' : 's'} so far; verdicts from ${report.min_rows}.`
      : `Last ${report.rows} request rows: ${report.drifted.length} of ${report.features.length} features drifted.`;
  return h(
    'div',
    {},
    h('h4', { className: 'nbprod-subtitle' }, 'Drift'),
    h('p', { className: 'nbprod-help nbprod-drift-summary' }, summary),
    h('table', { className: 'nbprod-table' }, h('thead', {}, header), h('tbody', {}, ...rows))
  );
}
