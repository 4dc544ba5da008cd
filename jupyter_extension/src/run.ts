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

/** Split `text` on `sep` outside brackets: `dict[str, int], None` on ',' gives two parts. */
function splitTop(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[' || c === '(') {
      depth++;
    } else if (c === ']' || c === ')') {
      depth--;
    } else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

/** A declared type without its `None` alternative (`X | None`, `Optional[X]`). */
export function withoutNone(type: string): { type: string; optional: boolean } {
  const t = type.trim();
  const optional = /^(typing\.)?Optional\[(.*)\]$/.exec(t);
  if (optional) {
    return { type: optional[2].trim(), optional: true };
  }
  const parts = splitTop(t, '|');
  const rest = parts.filter(p => p !== 'None');
  if (rest.length < parts.length && rest.length === 1) {
    return { type: rest[0], optional: true };
  }
  return { type: t, optional: false };
}

/** `list[int]` as `{base: 'list', args: ['int']}`; `List`, `Dict`... as their builtins. */
function typeParts(type: string): { base: string; args: string[] } {
  const match = /^(?:typing\.)?([A-Za-z_]+)\s*(?:\[(.*)\])?$/.exec(type.trim());
  if (!match) {
    return { base: type.trim(), args: [] };
  }
  const base = match[1].toLowerCase();
  return { base, args: match[2] === undefined ? [] : splitTop(match[2], ',') };
}

/** A list or mapping as the server reads it: JSON, or YAML flow style (`[a, 'b']`,
 * `{a: 1}`) for the plain cases; undefined when it is neither. */
export function parseData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // not JSON: try the flow style below
  }
  let i = 0;
  const space = () => {
    while (i < text.length && /\s/.test(text[i])) {
      i++;
    }
  };
  const fail = (): never => {
    throw new Error('syntax');
  };
  const scalar = (stops: string): unknown => {
    space();
    const q = text[i];
    if (q === '"' || q === "'") {
      const end = text.indexOf(q, i + 1);
      if (end < 0) {
        fail();
      }
      const raw = text.slice(i + 1, end);
      i = end + 1;
      return raw;
    }
    let j = i;
    while (j < text.length && !stops.includes(text[j])) {
      j++;
    }
    const word = text.slice(i, j).trim();
    i = j;
    if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(word)) {
      return Number(word);
    }
    if (/^(true|false|yes|no|on|off)$/i.test(word)) {
      return /^(true|yes|on)$/i.test(word);
    }
    if (word === '' || /^(null|~)$/i.test(word)) {
      return null;
    }
    return word;
  };
  /** After an item (or an opening bracket, with `first`): true at the closing bracket,
   * false at a separator (both consumed). */
  const closes = (close: string, first = false): boolean => {
    space();
    if (text[i] === close) {
      i++;
      return true;
    }
    if (first) {
      return false;
    }
    if (text[i] !== ',') {
      fail();
    }
    i++;
    return false;
  };
  const value = (stops: string): unknown => {
    space();
    if (text[i] === '[') {
      i++;
      const items: unknown[] = [];
      for (let done = closes(']', true); !done; done = closes(']')) {
        items.push(value(',]'));
      }
      return items;
    }
    if (text[i] === '{') {
      i++;
      const map: Record<string, unknown> = {};
      for (let done = closes('}', true); !done; done = closes('}')) {
        const key = scalar(':,}');
        space();
        if (text[i] !== ':') {
          fail();
        }
        i++;
        map[String(key)] = value(',}');
      }
      return map;
    }
    return scalar(stops);
  };
  try {
    const parsed = value('');
    space();
    return i === text.length ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Why `value` is not of the simple type `type` (int, float, str, bool), or ''. */
function simpleMismatch(type: string, value: unknown): string {
  const ok =
    type === 'int'
      ? typeof value === 'number' && Number.isInteger(value)
      : type === 'float'
        ? typeof value === 'number'
        : type === 'str'
          ? ['string', 'number', 'boolean'].includes(typeof value) // the server writes 1 as '1'
          : type === 'bool'
            ? typeof value === 'boolean'
            : true;
  return ok ? '' : `${JSON.stringify(value)} is not ${type === 'int' ? 'an' : 'a'} ${type}`;
}

/** Why `value` is not the list, tuple or dict `type` declares, or ''. */
function containerMismatch(type: string, value: unknown): string {
  const { base, args } = typeParts(type);
  if (base === 'list' || base === 'tuple' || base === 'sequence') {
    if (!Array.isArray(value)) {
      return 'expected a JSON list';
    }
    const fixed = base === 'tuple' && args.length && args[args.length - 1] !== '...';
    if (fixed && value.length !== args.length) {
      return `expected a JSON list of ${args.length} items`;
    }
    for (let k = 0; k < value.length; k++) {
      const item = fixed ? args[k] : args[0];
      const why = item ? simpleMismatch(item, value[k]) : '';
      if (why) {
        return `expected a JSON list of ${fixed ? args.join(', ') : item}: item ${k + 1}, ${why}`;
      }
    }
    return '';
  }
  if (base === 'dict' || base === 'mapping') {
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      return 'expected a JSON dict';
    }
    const item = args[1];
    for (const [key, v] of Object.entries(value)) {
      const why = item ? simpleMismatch(item, v) : '';
      if (why) {
        return `expected a JSON dict of ${item} values: at ${JSON.stringify(key)}, ${why}`;
      }
    }
  }
  return '';
}

/**
 * Check a field's text against its declared type.
 *
 * `int` and `float` want a number; `list[...]`, `tuple[...]` and `dict[...]` (bare or
 * parameterised) a JSON list or dict (or the YAML flow style the server reads too), their
 * items checked when their type is int, float, str or bool. `X | None` and `Optional[X]`
 * also take `None`.
 *
 * @returns an error message, or '' when the text is acceptable (empty means "the default")
 */
export function validate(param: IParameter, text: string): string {
  const value = text.trim();
  const { type, optional } = withoutNone(param.type ?? '');
  if (!value) {
    return param.required ? 'required' : '';
  }
  if (optional && (value === 'None' || value === 'null')) {
    return '';
  }
  const { base } = typeParts(type);
  switch (base) {
    case 'int':
      return /^[+-]?\d+$/.test(value) ? '' : 'expected a whole number';
    case 'float':
      return value !== '' && !isNaN(Number(value)) ? '' : 'expected a number';
    case 'list':
    case 'tuple':
    case 'sequence':
    case 'dict':
    case 'mapping': {
      const parsed = parseData(value);
      const kind = base === 'dict' || base === 'mapping' ? 'dict' : 'list';
      return parsed === undefined ? `expected a JSON ${kind}` : containerMismatch(type, parsed);
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
      this.showRefusal(job);
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

  /** The server refused a parameter (the CLI's exit 2, `parameter 'NAME' expects ...`):
   * its message goes under that field too. */
  private showRefusal(job: IJob): void {
    const message = job.error?.message ?? '';
    const name = job.exit_code === 2 ? /parameter '([^']+)'/.exec(message)?.[1] : undefined;
    const field = this.fields.find(f => f.param.name === name);
    if (field) {
      replace(field.error, message.replace(/^[^:]*:\s*(?=parameter ')/, ''));
      field.input.classList.add('nbprod-invalid');
    }
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
