/** The nbprod sidebar: a header naming the active notebook, then one section per capability. */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Panel, Widget } from '@lumino/widgets';

import { h, replace } from './dom';
import { Section } from './section';

export class NbprodPanel extends Panel {
  private readonly header: HTMLElement;
  private readonly notice: HTMLElement;
  /** The notebook shown, whose renames and moves the header follows. */
  private current: NotebookPanel | null = null;

  constructor(readonly sections: Section[]) {
    super();
    this.id = 'nbprod-panel';
    this.addClass('nbprod-panel');
    this.header = h('div', { className: 'nbprod-current' }, 'Open a notebook to use nbprod.');
    this.notice = h('div', { className: 'nbprod-notice', role: 'alert' });
    // The header is a widget of its own: the panel's layout owns the order of its children.
    const top = new Widget({ node: h('header', { className: 'nbprod-header' }) });
    top.node.append(h('h2', { className: 'nbprod-title' }, 'nbprod'), this.notice, this.header);
    this.addWidget(top);
    for (const section of sections) {
      this.addWidget(section);
    }
  }

  /** Show the notebook the sections now work on (null: no notebook is active). */
  setNotebook(panel: NotebookPanel | null): void {
    this.current?.context.pathChanged.disconnect(this.onPathChanged, this);
    this.current = panel;
    panel?.context.pathChanged.connect(this.onPathChanged, this);
    replace(this.header, panel ? panel.context.path : 'Open a notebook to use nbprod.');
    for (const section of this.sections) {
      section.setNotebook(panel);
    }
  }

  /** The notebook was renamed or moved (the file browser, `contents.rename`). */
  private onPathChanged(_: unknown, path: string): void {
    replace(this.header, path);
    for (const section of this.sections) {
      section.pathChanged(path);
    }
  }

  /** A problem that concerns the whole panel (e.g. the server extension is missing). */
  setNotice(text: string): void {
    replace(this.notice, text);
    this.toggleClass('nbprod-has-notice', !!text);
  }

  section<T extends Section>(key: string): T | undefined {
    return this.sections.find(s => s.key === key) as T | undefined;
  }
}
