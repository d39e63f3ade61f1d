import { readFileSync, readdirSync } from 'node:fs';
const dir = process.argv[2];
for (const f of readdirSync(dir)) {
  const p = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map(); for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // time per sample
  let t = p.startTime; const times = p.timeDeltas.map((d) => (t += d));
  const total = p.endTime - p.startTime; const from = p.startTime + total * 0.3;
  const self = new Map(), file = new Map(), incl = new Map();
  let n = 0, idle = 0;
  p.samples.forEach((id, i) => {
    if (times[i] < from) return;
    const node = byId.get(id); const cf = node.callFrame;
    if (cf.functionName === '(idle)' || cf.functionName === '(program)') { idle++; return; }
    n++;
    const k = `${cf.functionName || '(anon)'} ${cf.url.split('/node_modules/').pop().slice(-60)}:${cf.lineNumber}`;
    self.set(k, (self.get(k) ?? 0) + 1);
    const fk = cf.url.includes('node_modules') ? cf.url.split('/node_modules/').pop().split('/').slice(0, cf.url.includes('@') ? 2 : 1).join('/') : cf.url.split('/').slice(-2).join('/');
    file.set(fk, (file.get(fk) ?? 0) + 1);
    const seen = new Set(); let cur = id;
    while (cur !== undefined) { const c = byId.get(cur).callFrame; const kk = `${c.functionName || '(anon)'} ${c.url.split('/').slice(-2).join('/')}:${c.lineNumber}`; if (!seen.has(kk)) { seen.add(kk); incl.set(kk, (incl.get(kk) ?? 0) + 1); } cur = parent.get(cur); }
  });
  console.log(`== ${f}: busy samples ${n}, idle ${idle}`);
  const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([a, b]) => `${(100 * b / n).toFixed(1).padStart(5)}% ${a}`).join('\n');
  console.log('-- by package/file'); console.log(top(file, 15));
  console.log('-- self'); console.log(top(self, 20));
  console.log('-- inclusive'); console.log(top(incl, 45));
}
