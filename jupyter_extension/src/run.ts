/** The Run section: a form built from the notebook's parameter schema, progress while the
 * run goes, and a link to the executed notebook. */
import { Notification } from '@jupyterlab/apputils';

import { h, replace } from './dom';
import { ISectionContext, Section } from './section';
import type { IJob, IParameter, IParams } from './api';
import { sourceOf } from './tokens';

/**
 * What a run's progress line says, for people: `[2/8] cell 3 (id 'imports')` becomes
 * `cell 3 (id 'imports'), 2 of 8`.
 */
export function describeProgress(progress: string): string {
  const match = /^\[(\d+)\/(\d+)\]\s+(.*)$/.exec(progress.trim());
  return match ? `${match[3]}, ${match[1]} of ${match[2]}` : progress.trim();
}

/**
 * Check a field's text against its declared type.
 *
 * @returns an error message, or '' when the text is acceptable (empty means "the default")
 */
export function validate(param: IParameter, text: string): string {
  const value = text.trim();
  if (!value) {
    return param.required ? 'required' : '';
  }
  switch (param.type) {
    case 'int':
      return /^[+-]?\d+$/.test(value) ? '' : 'expected a whole number';
    case 'float':
      return value !== '' && !isNaN(Number(value)) ? '' : 'expected a number';
    case 'list':
    case 'dict':
      try {
        const parsed = JSON.parse(value);
        const ok = param.type === 'list' ? Array.isArray(parsed) : parsed && typeof parsed === 'object';
        return ok ? '' : `expected a JSON ${param.type}`;
      } catch {
        return `expected a JSON ${param.type}`;
      }
    default:
      return '';
  }
}

/** Where a run's executed copy goes by default: `<name>.output.ipynb` next to the notebook
 * (named after its source for an executed copy, not `x.output.output`). */
export function defaultOutput(path: string): string {
  return `${sourceOf(path).replace(/\.ipynb$/, '')}.output.ipynb`;
}

interface IField {
  param: IParameter;
  read(): string | null;
  error: HTMLElement;
  input: HTMLInputElement | HTMLSelectElement;
}

export class RunSection extends Section {
  /** Called when a run ended (the Runs section refreshes). */
  onRunEnded: () => void = () => undefined;
  pollIntervalMs = 1000;
  private fields: IField[] = [];
  private output: HTMLInputElement | null = null;
  /** The output copy's default, named after the notebook: replaced when the notebook is
   * renamed or moved, unless the user typed a value of their own. */
  private outputDefault = '';
  /** The path of the notebook shown, as it was before a rename. */
  private shownPath = '';
  private readonly form: HTMLFormElement;
  private readonly progress: HTMLElement;
  private readonly runButton: HTMLButtonElement;
  private readonly cancelButton: HTMLButtonElement;
  private job: IJob | null = null;
  /** The notebook the running job belongs to: its progress is drawn under that one only. */
  private jobPath = '';

  constructor(ctx: ISectionContext) {
    super('run', 'Run', 'run', ctx);
    this.form = h('form', { className: 'nbprod-run-form', onSubmit: (e: Event) => e.preventDefault() });
    this.progress = h('div', { className: 'nbprod-run-progress', role: 'status' });
    this.runButton = this.button('Run', 'nbprod-run-start', () => void this.start());
    this.cancelButton = this.button('Cancel', 'nbprod-run-cancel', () => void this.cancel());
    this.cancelButton.disabled = true;
    this.toolbar.append(this.runButton, this.cancelButton);
  }

  protected onNotebook(): void {
    this.shownPath = this.path;
    this.body.append(this.form, this.progress);
    replace(this.form);
    replace(this.progress);
    this.fields = [];
    if (this.job && this.jobPath !== this.path) {
      this.setStatus(`A run of ${this.jobPath} is going on; one run at a time.`, 'info');
    }
    void this.load();
  }

  /** Fetch the parameter schema and build the form from it. */
  async load(): Promise<void> {
    if (!this.ready) {
      return;
    }
    const panel = this.notebook;
    try {
      const schema = await this.ctx.client.params(this.path);
      if (this.owns(panel)) {
        this.build(schema);
      }
    } catch (error) {
      if (this.owns(panel)) {
        this.showError(error);
      }
    }
  }

  private build(schema: IParams): void {
    this.fields = schema.parameters.map(p => this.field(p));
    this.outputDefault = defaultOutput(this.path);
    this.output = h('input', {
      type: 'text',
      name: 'nbprod-output',
      className: 'nbprod-output-path',
      value: this.outputDefault
    });
    replace(
      this.form,
      ...(this.fields.length
        ? this.fields.map(f => f.input.closest('.nbprod-field') as HTMLElement)
        : [h('p', { className: 'nbprod-hint' }, 'No parameters: tag a cell "parameters" to add some.')]),
      h(
        'div',
        { className: 'nbprod-field' },
        h('label', {}, 'Copy of the executed notebook'),
        this.output,
        h('span', { className: 'nbprod-help' }, 'Opened by the link below; empty: keep it only in the run store.')
      )
    );
  }

  pathChanged(path: string): void {
    // A run of this notebook goes on: its progress is still drawn under it.
    if (this.job && this.jobPath === this.shownPath) {
      this.jobPath = path;
    }
    this.shownPath = path;
    const next = defaultOutput(path);
    if (this.output && this.output.value.trim() === this.outputDefault) {
      this.output.value = next;
    }
    this.outputDefault = next;
  }

  private field(param: IParameter): IField {
    const error = h('span', { className: 'nbprod-field-error' });
    const shownDefault = param.default_source ?? JSON.stringify(param.default);
    let input: HTMLInputElement | HTMLSelectElement;
    let read: () => string | null;
    if (param.choices && param.choices.length) {
      const select = h(
        'select',
        { name: param.name },
        ...param.choices.map(c =>
          h('option', { value: String(c), selected: c === param.default }, String(c))
        )
      );
      input = select;
      read = () => (select.value === String(param.default) ? null : select.value);
    } else if (param.type === 'bool') {
      const box = h('input', { type: 'checkbox', name: param.name, checked: param.default === true });
      input = box;
      read = () => (box.checked === (param.default === true) ? null : String(box.checked));
    } else {
      const text = h('input', {
        type: 'text',
        name: param.name,
        placeholder: param.required ? 'required' : shownDefault,
        inputmode: param.type === 'int' || param.type === 'float' ? 'decimal' : undefined
      });
      input = text;
      read = () => (text.value.trim() ? text.value.trim() : null);
      text.addEventListener('input', () => this.check({ param, read, error, input: text }));
    }
    h(
      'div',
      { className: 'nbprod-field', 'data-name': param.name },
      h(
        'label',
        {},
        param.name,
        ' ',
        h('span', { className: 'nbprod-type' }, param.type ?? 'any'),
        param.required ? h('span', { className: 'nbprod-required' }, ' *') : null
      ),
      input,
      param.help ? h('span', { className: 'nbprod-help' }, param.help) : null,
      error
    );
    return { param, read, error, input };
  }

  /** Show the field's validation message; true when the value is acceptable. */
  private check(field: IField): boolean {
    const text = field.input instanceof HTMLInputElement && field.input.type === 'text' ? field.input.value : '';
    const message = field.input instanceof HTMLInputElement && field.input.type === 'text'
      ? validate(field.param, text)
      : '';
    replace(field.error, message);
    field.input.classList.toggle('nbprod-invalid', !!message);
    return !message;
  }

  async start(): Promise<void> {
    if (!this.ready || this.job) {
      return;
    }
    const valid = this.fields.map(f => this.check(f)).every(Boolean);
    if (!valid) {
      this.setStatus('Fix the highlighted parameters first.', 'error');
      return;
    }
    const parameters: Record<string, string> = {};
    for (const field of this.fields) {
      const value = field.read();
      if (value !== null) {
        parameters[field.param.name] = value;
      }
    }
    const output = this.output?.value.trim();
    await this.busy('Starting the run…', async () => {
      await this.saveFirst();
      this.job = await this.ctx.client.startRun(this.path, parameters, output || undefined);
      this.jobPath = this.path;
      this.runButton.disabled = true;
      this.cancelButton.disabled = false;
      replace(this.progress);
      this.setStatus('Running…', 'busy');
      void this.poll();
    });
  }

  private async poll(): Promise<void> {
    while (this.job && this.job.state === 'running') {
      await new Promise(resolve => setTimeout(resolve, this.pollIntervalMs));
      try {
        this.job = await this.ctx.client.job(this.job.job_id);
      } catch (error) {
        this.showError(error);
        break;
      }
      if (this.path !== this.jobPath) {
        continue; // the user looks at another notebook: its panel is not this run's
      }
      const note = this.job.cancel_requested ? 'Stopping…' : 'Running';
      const where = this.job.progress ? ` ${describeProgress(this.job.progress)}` : '…';
      this.setStatus(`${note}${where} · ${this.job.elapsed_s.toFixed(0)} s`, 'busy');
    }
    this.finish();
  }

  private finish(): void {
    const job = this.job;
    this.job = null;
    this.runButton.disabled = false;
    this.cancelButton.disabled = true;
    if (!job) {
      return;
    }
    const runId = job.kind === 'run' ? job.result?.run_id : undefined;
    const seconds = `${job.elapsed_s.toFixed(1)} s`;
    // A cancelled run is recorded "interrupted", as the CLI says: one word everywhere.
    const state = job.state === 'cancelled' ? 'interrupted' : job.state;
    const message =
      state === 'succeeded'
        ? `Run ${runId ?? ''} of ${this.jobPath} succeeded in ${seconds}`
        : `Run of ${this.jobPath} ${state}: ${job.error?.message ?? ''}`;
    if (state === 'succeeded') {
      Notification.success(message, { autoClose: 5000 });
    } else {
      Notification.error(message, { autoClose: false });
    }
    if (this.path !== this.jobPath) {
      this.onRunEnded();
      return;
    }
    if (state === 'succeeded') {
      this.setStatus(`Run ${runId ?? ''} succeeded in ${seconds}`, 'info');
    } else {
      this.setStatus(`Run ${state}: ${job.error?.message ?? ''}`, 'error');
    }
    const outputPath = job.output_path;
    if (outputPath && (job.state === 'succeeded' || job.state === 'failed')) {
      replace(
        this.progress,
        h(
          'a',
          {
            className: 'nbprod-link nbprod-open-output',
            href: '#',
            onClick: (event: Event) => {
              event.preventDefault();
              void this.ctx.open(outputPath);
            }
          },
          `Open the executed notebook (${outputPath})`
        )
      );
    }
    this.onRunEnded();
  }

  async cancel(): Promise<void> {
    if (this.job) {
      try {
        this.job = await this.ctx.client.cancelJob(this.job.job_id);
      } catch (error) {
        this.showError(error);
      }
    }
  }
}
