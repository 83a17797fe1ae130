// The deploy panel: deploy through the studio (→ admin API), the live URL, and the app's log
// tail, polled every 2 s while the panel is on screen.
import { api } from './api.mjs';
import { $ } from './dom.mjs';

const POLL_MS = 2000;

export class DeployPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.app = $('deploy-app');
    this.button = $('deploy');
    this.status = $('deploy-status');
    this.url = $('deploy-url');
    this.logs = $('deploy-logs');
    this.deployed = new Map(); // service → {app, url} deployed in this session
    this.visible = false;
    this.timer = null;
    this.polling = false;
    this.button.addEventListener('click', () => this.deploy());
    new IntersectionObserver((entries) => {
      this.visible = entries.some((e) => e.isIntersecting);
      this.schedule();
    }).observe($('panel-deploy'));
    document.addEventListener('visibilitychange', () => this.schedule());
  }

  /** Another service was selected. */
  setService(service) {
    const known = this.deployed.get(this.ctx.serviceId);
    this.app.value = known?.app ?? defaultAppName(service?.name ?? '');
    this.setStatus(known ? `deployed as ${known.app}` : '', known ? 'ok' : '');
    this.showUrl(known?.url ?? '');
    this.logs.textContent = known ? '' : 'Deploy to see the app\'s logs here.';
    this.schedule();
  }

  setStatus(text, kind) {
    this.status.textContent = text;
    this.status.className = `status-line ${kind ?? ''}`;
  }

  showUrl(href) {
    this.url.textContent = href || '—';
    if (href) this.url.href = href;
    else this.url.removeAttribute('href');
  }

  async deploy() {
    const service = this.ctx.serviceId;
    if (service === null) return;
    const app = this.app.value.trim();
    this.button.disabled = true;
    this.setStatus(`deploying ${app || 'the service'}…`, '');
    try {
      await this.ctx.saveAll();
      let answer;
      try {
        answer = await api.deploy(service, app || undefined);
      } catch (err) {
        // not built, or the sources changed since the build: one click builds, then deploys
        if (err.status !== 409 || !/build first/.test(err.message) || !this.ctx.build) throw err;
        this.setStatus('building first…', '');
        const built = await this.ctx.build();
        if (!built.ok) throw new Error(`the build failed (${built.error || 'see the build panel'})`);
        this.setStatus(`deploying ${app || 'the service'}…`, '');
        answer = await api.deploy(service, app || undefined);
      }
      const url = answer.urls?.[0] ?? '';
      this.deployed.set(service, { app: answer.app, url });
      this.app.value = answer.app;
      this.setStatus(`deployed ${answer.app} (version ${answer.version})${answer.routes?.length ? ` · routes ${answer.routes.join(', ')}` : ''}`, 'ok');
      this.showUrl(url);
      this.poll();
    } catch (err) {
      this.setStatus(`deploy failed: ${err.message}`, 'bad');
    } finally {
      this.button.disabled = false;
    }
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = null;
    const known = this.deployed.get(this.ctx.serviceId);
    if (known && this.visible && document.visibilityState === 'visible') this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  async poll() {
    const known = this.deployed.get(this.ctx.serviceId);
    if (!known || this.polling) return;
    this.polling = true;
    try {
      const { lines } = await api.logs(known.app, 200);
      const atBottom = this.logs.scrollTop + this.logs.clientHeight >= this.logs.scrollHeight - 4;
      this.logs.textContent = lines.length
        ? lines.map((l) => `${l.time ?? ''} ${String(l.level ?? '').padEnd(5)} ${l.component ?? ''}: ${l.message}`).join('\n')
        : '(no log lines yet)';
      if (atBottom) this.logs.scrollTop = this.logs.scrollHeight;
    } catch (err) {
      this.logs.textContent = `could not read the logs: ${err.message}`;
    } finally {
      this.polling = false;
      this.schedule();
    }
  }
}

/** An app name from a service name: lower-case letters, digits and '-'. */
export function defaultAppName(name) {
  return String(name).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'app';
}
