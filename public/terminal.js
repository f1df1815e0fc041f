// The Terminal panel of a workstation's page: xterm.js (served from
// /vendor/xterm/, copied from npm by scripts/tools.sh) on the terminal
// WebSocket, /v1/workstations/{id}/terminal. The browser's session cookie
// authenticates it; the server checks the Origin.
//
// The session id is kept in sessionStorage, so a reload of the page carries
// on with the same shell (and shows what it kept); a dropped connection
// resumes from the bytes this screen has read.

const VENDOR = '/vendor/xterm';
const KEY = (id) => `atelier-terminal:${id}`;
const encoder = new TextEncoder();

// xterm.js adds <style> elements for its layout and colours. The page's CSP
// allows styles from here and those carrying this response's nonce (the
// one its scripts carry), so the terminal's own get that nonce.
const nonce = document.querySelector('script[nonce]')?.nonce ?? '';
if (nonce && !document.createElement.atelierNonce) {
  const create = document.createElement.bind(document);
  const withNonce = (tag, options) => {
    const element = create(tag, options);
    if (String(tag).toLowerCase() === 'style') element.nonce = nonce;
    return element;
  };
  withNonce.atelierNonce = true;
  document.createElement = withNonce;
}

let xterm = null;
async function loadXterm() {
  if (!xterm) {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = `${VENDOR}/xterm.css`;
    document.head.append(link);
    const [{ Terminal }, { FitAddon }] = await Promise.all([
      import(`${VENDOR}/xterm.mjs`),
      import(`${VENDOR}/addon-fit.mjs`),
    ]);
    xterm = { Terminal, FitAddon };
  }
  return xterm;
}

/** The open terminals, by their panel. */
const open = new Map();
/** Terminals whose shell ended, kept on screen until another is opened. */
const finished = new Map();

function saved(id) {
  try {
    return JSON.parse(sessionStorage.getItem(KEY(id)) ?? 'null');
  } catch {
    return null;
  }
}

function save(id, value) {
  try {
    if (value) sessionStorage.setItem(KEY(id), JSON.stringify(value));
    else sessionStorage.removeItem(KEY(id));
  } catch {
    // Private modes may refuse storage: the terminal still works, without resuming.
  }
}

function banner(panel, text, ok = false) {
  const el = panel.querySelector('[data-terminal-banner]');
  if (!el) return;
  el.textContent = text;
  el.classList.toggle('ok', ok);
}

async function start(panel) {
  if (open.has(panel)) {
    open.get(panel).term.focus();
    return;
  }
  finished.get(panel)?.stop();
  finished.delete(panel);
  const id = panel.dataset.terminal;
  const screen = panel.querySelector('[data-terminal-screen]');
  const button = panel.querySelector('[data-terminal-open]');
  const { Terminal, FitAddon } = await loadXterm();
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  screen.replaceChildren();
  term.open(screen);
  fit.fit();
  // Ctrl+Shift+C / Ctrl+Shift+V copy and paste (Ctrl+C stays the shell's).
  term.attachCustomKeyEventHandler((event) => {
    if (event.type !== 'keydown' || !event.ctrlKey || !event.shiftKey) return true;
    if (event.code === 'KeyC' && term.hasSelection()) {
      navigator.clipboard?.writeText(term.getSelection());
      return false;
    }
    if (event.code === 'KeyV') {
      navigator.clipboard?.readText().then((text) => term.paste(text));
      return false;
    }
    return true;
  });
  const state = { term, fit, socket: null, session: null, offset: 0, failures: 0, closed: false, retry: null };
  open.set(panel, state);
  if (button) button.textContent = 'Focus terminal';

  term.onData((data) => send(state, encoder.encode(data)));
  term.onBinary((data) => send(state, Uint8Array.from(data, (c) => c.charCodeAt(0))));
  term.onResize(({ cols, rows }) => send(state, JSON.stringify({ type: 'resize', cols, rows })));
  const resize = new ResizeObserver(() => fit.fit());
  resize.observe(screen);
  state.stop = () => {
    state.end();
    resize.disconnect();
    term.dispose();
    finished.delete(panel);
  };
  // Ends the connection, leaving what it showed on screen.
  state.end = () => {
    state.closed = true;
    clearTimeout(state.retry);
    state.socket?.close();
    open.delete(panel);
    finished.set(panel, state);
    const button = panel.querySelector('[data-terminal-open]');
    if (button) button.textContent = 'Open terminal';
  };

  // A new screen after a reload shows everything the session kept (its
  // last 64 KiB); a dropped connection of this screen asks only for the rest.
  const previous = saved(id);
  if (previous) {
    state.session = previous.session;
    state.offset = 0;
  }
  connect(panel, state, id, Boolean(previous));
  term.focus();
}

function send(state, data) {
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(data);
}

function connect(panel, state, id, resuming) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const query = state.session
    ? `session=${encodeURIComponent(state.session)}&offset=${state.offset}`
    : `cols=${state.term.cols}&rows=${state.term.rows}`;
  const socket = new WebSocket(`${scheme}://${location.host}/v1/workstations/${id}/terminal?${query}`);
  socket.binaryType = 'arraybuffer';
  state.socket = socket;
  let opened = false;
  let exited = false;
  socket.onmessage = (message) => {
    if (typeof message.data === 'string') {
      const control = JSON.parse(message.data);
      if (control.type === 'session') {
        opened = true;
        state.failures = 0;
        if (resuming && control.id === state.session) {
          banner(panel, 'Reconnected to your shell.', true);
          setTimeout(() => banner(panel, ''), 3000);
        } else {
          banner(panel, '');
        }
        state.session = control.id;
        state.offset = control.offset;
        save(id, { session: state.session });
        send(state, JSON.stringify({ type: 'resize', cols: state.term.cols, rows: state.term.rows }));
      } else if (control.type === 'offset') {
        // Output this screen was too slow for was skipped.
        state.offset = control.offset;
      } else if (control.type === 'exit') {
        exited = true;
        save(id, null);
        state.session = null;
        banner(panel, `The shell exited (status ${control.code ?? 'unknown'}). Press "Open terminal" for a new one.`);
        state.end();
      }
      return;
    }
    const bytes = new Uint8Array(message.data);
    state.offset += bytes.length;
    state.term.write(bytes);
  };
  socket.onclose = () => {
    if (state.closed || exited) return;
    if (!panel.isConnected) {
      state.stop();
      return;
    }
    state.failures += 1;
    if (!opened && state.session && state.failures >= 2) {
      // The shell is gone (it ended, or nobody came back in time): a new one.
      state.session = null;
      save(id, null);
      state.term.reset();
    }
    if (state.failures > 6) {
      banner(panel, 'Cannot reach the terminal. Is the workstation still running? Press "Open terminal" to try again.');
      state.end();
      return;
    }
    banner(panel, 'Connection lost. Reconnecting…');
    const delay = Math.min(500 * 2 ** (state.failures - 1), 8000);
    state.retry = setTimeout(() => connect(panel, state, id, true), delay);
  };
}

document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-terminal-open]') : null;
  const panel = button?.closest('[data-terminal]');
  if (panel) start(panel);
});

// Panels appear and go with the page (client-side navigation, the
// workstation starting or stopping): a terminal open before a reload comes
// back by itself, and one whose panel went away is closed.
function sweep() {
  for (const [panel, state] of [...open, ...finished]) {
    if (!panel.isConnected) state.stop();
  }
  for (const panel of document.querySelectorAll('[data-terminal]')) {
    if (!open.has(panel) && saved(panel.dataset.terminal)) start(panel);
  }
}

function whenHydrated(then) {
  if (document.body.dataset.hydrated === 'true') return then();
  const watch = new MutationObserver(() => {
    if (document.body.dataset.hydrated === 'true') {
      watch.disconnect();
      then();
    }
  });
  watch.observe(document.body, { attributes: true, attributeFilter: ['data-hydrated'] });
}

whenHydrated(() => {
  sweep();
  new MutationObserver(sweep).observe(document.body, { childList: true, subtree: true });
});
