// The state of one build, folded from its server-sent events (queued, start, log, done).

/** Most log lines kept in the page (the server caps the log too). */
export const MAX_LOG_LINES = 5000;

/** The state before any event: status 'idle'. */
export function initialBuildState() {
  return {
    status: 'idle', position: 0, log: [], dropped: 0, done: false,
    ok: null, seconds: null, error: null, diagnostics: [], components: [],
  };
}

/**
 * The state after the event `type` with the parsed `data`; unknown events leave it as it was.
 * status: idle → queued → building → succeeded | failed.
 */
export function applyBuildEvent(state, type, data) {
  const d = data ?? {};
  switch (type) {
    case 'queued':
      return { ...state, status: 'queued', position: Number(d.position ?? 0) };
    case 'start':
      return { ...state, status: 'building', position: 0 };
    case 'log': {
      const log = [...state.log, String(d.line ?? '')];
      const over = log.length - MAX_LOG_LINES;
      return over > 0
        ? { ...state, status: state.status === 'idle' ? 'building' : state.status, log: log.slice(over), dropped: state.dropped + over }
        : { ...state, status: state.status === 'idle' ? 'building' : state.status, log };
    }
    case 'done':
      return {
        ...state,
        status: d.ok ? 'succeeded' : 'failed',
        done: true,
        ok: Boolean(d.ok),
        seconds: typeof d.seconds === 'number' ? d.seconds : null,
        error: d.error ?? null,
        diagnostics: Array.isArray(d.diagnostics) ? d.diagnostics : [],
        components: Array.isArray(d.components) ? d.components : [],
      };
    default:
      return state;
  }
}

/** Parse one SSE data field (JSON); a malformed payload becomes {} rather than breaking the stream. */
export function parseEventData(raw) {
  try {
    const value = JSON.parse(raw);
    return value && typeof value === 'object' ? value : {};
  } catch {
    return {};
  }
}

/** The status line shown beside the build button. */
export function statusText(state) {
  switch (state.status) {
    case 'queued': return state.position > 0 ? `queued (position ${state.position})` : 'queued';
    case 'building': return 'building';
    case 'succeeded': return state.seconds === null ? 'succeeded' : `succeeded in ${state.seconds.toFixed(1)} s`;
    case 'failed': return state.error ? `failed: ${state.error}` : 'failed';
    default: return 'idle';
  }
}

/** The names of the SSE events a build stream sends. */
export const BUILD_EVENTS = ['queued', 'start', 'log', 'done'];
