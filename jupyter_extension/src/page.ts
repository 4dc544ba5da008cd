/** A main-area tab showing a self-contained HTML page (a run report) in a sandboxed frame. */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

/**
 * The page is given as text (`srcdoc`), not loaded from a URL, and the frame is sandboxed
 * with no permission at all: the report's notebook outputs can hold any HTML, and none of
 * it may run script or reach JupyterLab.
 */
export class PageWidget extends Widget {
  constructor(html: string) {
    super({ node: document.createElement('iframe') });
    const frame = this.node as HTMLIFrameElement;
    frame.setAttribute('sandbox', '');
    frame.className = 'nbprod-page-frame';
    frame.srcdoc = html;
  }
}

/** A closable main-area tab for a page; `id` keeps one tab per page. */
export function pageTab(id: string, title: string, html: string): MainAreaWidget<PageWidget> {
  const tab = new MainAreaWidget({ content: new PageWidget(html) });
  tab.id = id;
  tab.title.label = title;
  tab.title.closable = true;
  tab.addClass('nbprod-page');
  return tab;
}
