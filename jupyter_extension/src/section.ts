/** The base of every sidebar section: a title, a body, the active notebook, errors. */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { h, replace } from './dom';
import { NbprodRequestError } from './request';
import { INbprodClient } from './tokens';

/** What every section needs from the panel that holds it. */
export interface ISectionContext {
  client: INbprodClient;
  /** Open a file of the server root in JupyterLab. */
  open(path: string): Promise<void>;
  /** Go to a cell of the notebook (by cell id); false when it is not there. */
  /** Activate a cell named by its id or, when the file has none, its 1-based position. */
  goToCell(panel: NotebookPanel, cellId: string | null, position: number | null): boolean;
  /** Show an HTML page (a run report) in a main-area tab. */
  openPage(id: string, title: string, html: string): void;
  /** Open the main-area nbprod view (runs, pipeline, lineage) of a notebook. */
  openView(path: string): void;
  /** Write a text file of the server root (a requirements file a fix extends). */
  saveText(path: string, text: string): Promise<void>;
}

/** One collapsible section of the nbprod sidebar, working on the active notebook. */
export abstract class Section extends Widget {
  protected notebook: NotebookPanel | null = null;
  protected readonly body: HTMLElement;
  protected readonly toolbar: HTMLElement;
  protected readonly status: HTMLElement;
  private available = true;

  constructor(
    readonly key: string,
    title: string,
    /** The CLI command this section needs (hidden behind a note when missing). */
    readonly command: string,
    protected readonly ctx: ISectionContext
  ) {
    super({ node: h('section', { className: `nbprod-section nbprod-${key}` }) });
    this.toolbar = h('div', { className: 'nbprod-toolbar' });
    this.status = h('div', { className: 'nbprod-status', role: 'status' });
    this.body = h('div', { className: 'nbprod-section-body' });
    // The title folds the section away (a long sidebar stays readable).
    const header = h(
      'h3',
      {
        className: 'nbprod-section-title',
        role: 'button',
        tabindex: 0,
        'aria-expanded': 'true',
        title: 'Fold or unfold this section',
        onClick: () => this.toggleFolded(),
        onKeydown: (event: KeyboardEvent) =>
          (event.key === 'Enter' || event.key === ' ') && this.toggleFolded()
      },
      title
    );
    this.node.append(header, this.toolbar, this.status, this.body);
  }

  /** Fold the section to its title, or unfold it. */
  toggleFolded(): void {
    const folded = !this.hasClass('nbprod-folded');
    this.toggleClass('nbprod-folded', folded);
    this.node.querySelector('.nbprod-section-title')?.setAttribute('aria-expanded', String(!folded));
  }

  /**
   * Whether `panel` is still the notebook this section shows.
   *
   * Every answer from the server is checked with it after its `await`: an answer about a
   * notebook the user has since left is dropped, never drawn under another notebook's name.
   */
  protected owns(panel: NotebookPanel | null): boolean {
    return panel !== null && panel === this.notebook && !panel.isDisposed;
  }

  /** Called by the panel when the active notebook changes (null: none). */
  setNotebook(panel: NotebookPanel | null): void {
    this.notebook = panel;
    replace(this.status);
    replace(this.body);
    this.onNotebook();
  }

  /** Called by the panel when the notebook shown was renamed or moved to `path`. */
  pathChanged(path: string): void {
    void path;
  }

  /** Called once the server said which commands exist. */
  setAvailable(commands: string[]): void {
    this.available = commands.includes(this.command);
    this.toggleClass('nbprod-unavailable', !this.available);
    if (!this.available) {
      replace(
        this.status,
        `This nbprod has no "${this.command}" command; upgrade nbprod to use this section.`
      );
    }
  }

  protected get ready(): boolean {
    return this.available && this.notebook !== null;
  }

  /** The notebook's path relative to the server root. */
  protected get path(): string {
    return this.notebook?.context.path ?? '';
  }

  /** Save the notebook first when it has unsaved changes (the server reads the file). */
  protected async saveFirst(): Promise<void> {
    const context = this.notebook?.context;
    if (context && context.model.dirty) {
      await context.save();
    }
  }

  protected setStatus(text: string, kind: 'info' | 'error' | 'busy' = 'info'): void {
    this.status.className = `nbprod-status nbprod-status-${kind}`;
    replace(this.status, text);
  }

  protected showError(error: unknown): void {
    const message =
      error instanceof NbprodRequestError || error instanceof Error
        ? error.message
        : String(error);
    this.setStatus(message, 'error');
  }

  /**
   * Run `action` with the status showing `busy`, and its error if it fails; an error that
   * arrives after the user switched to another notebook is not shown there.
   */
  protected async busy(text: string, action: () => Promise<void>): Promise<void> {
    const panel = this.notebook;
    this.setStatus(text, 'busy');
    try {
      await action();
    } catch (error) {
      if (this.owns(panel)) {
        this.showError(error);
      }
    }
  }

  protected button(label: string, className: string, onClick: () => void): HTMLButtonElement {
    return h(
      'button',
      { className: `jp-Button jp-mod-styled nbprod-button ${className}`, onClick },
      label
    );
  }

  protected abstract onNotebook(): void;
}
