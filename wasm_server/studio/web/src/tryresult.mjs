// Words for what the runner answered: error messages and status colours.

/** A clear message for the runner's `{type: 'error', kind, message}` answer. */
export function runErrorMessage(answer, deadlineMs) {
  if (!answer) return 'The runner gave no answer.';
  if (answer.type !== 'error') return `Unexpected answer from the runner: ${answer.type}`;
  const message = answer.message ? String(answer.message) : '';
  switch (answer.kind) {
    case 'trap': return `The guest trapped: ${message || 'unreachable code or a bad memory access'}`;
    case 'timeout': return `Timed out: the guest ran longer than ${deadlineMs} ms, so its worker was stopped (the next run starts a fresh one).`;
    case 'load': return `Could not load the module: ${message}`;
    case 'guest': return `The guest failed: ${message}`;
    default: return message || 'The runner failed.';
  }
}

/** 'ok' (2xx), 'redirect' (3xx) or 'bad' (anything else) for colouring a status code. */
export function statusClass(status) {
  if (status >= 200 && status < 300) return 'ok';
  if (status >= 300 && status < 400) return 'redirect';
  return 'bad';
}
