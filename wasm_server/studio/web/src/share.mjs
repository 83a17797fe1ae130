// Export (download a .zip) and import (upload a .zip as a new service).
import { api } from './api.mjs';
import { $, el, toast } from './dom.mjs';

/** The file name from a content-disposition header, or `fallback`. */
export function attachmentName(disposition, fallback) {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition ?? '');
  return match ? decodeURIComponent(match[1]) : fallback;
}

/** A service name from a zip's file name: "My App (2).zip" → "my-app-2". */
export function serviceNameFromFile(fileName) {
  const base = String(fileName).replace(/\.zip$/i, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[-0-9]+|-+$/g, '');
  return base || 'imported';
}

export function initShare(ctx) {
  const exportButton = $('export');
  exportButton.addEventListener('click', async () => {
    if (ctx.serviceId === null) return;
    exportButton.disabled = true;
    try {
      await ctx.saveAll();
      const response = await api.exportZip(ctx.serviceId);
      const blob = await response.blob();
      const name = attachmentName(response.headers.get('content-disposition'), `${ctx.service?.name ?? 'service'}.zip`);
      const link = el('a', { href: URL.createObjectURL(blob), download: name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (err) {
      toast(`Export: ${err.message}`, 'error');
    } finally {
      exportButton.disabled = false;
    }
  });

  const input = $('import-file');
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    const name = serviceNameFromFile(file.name);
    try {
      const { service } = await api.importZip(name, file);
      toast(`Imported ${file.name} as ${service.name}`);
      await ctx.reloadServices(service.id);
    } catch (err) {
      toast(`Import of ${file.name}: ${err.message}`, 'error');
    }
  });
}
