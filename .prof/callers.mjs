import { readFileSync, readdirSync } from 'node:fs';
const [dir, name] = process.argv.slice(2);
const f = readdirSync(dir).find((x) => x.endsWith('001.cpuprofile'));
const p = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map(); for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map(p.nodes.map((n) => [n.id, 0])); for (const s of p.samples) counts.set(s, counts.get(s) + 1);
const stacks = new Map();
for (const n of p.nodes) {
  if (n.callFrame.functionName !== name || !counts.get(n.id)) continue;
  const chain = []; let cur = parent.get(n.id);
  for (let i = 0; i < 7 && cur !== undefined; i++) { const c = byId.get(cur).callFrame; chain.push(`${c.functionName || '(anon)'}@${c.url.split('/').slice(-2).join('/')}:${c.lineNumber}`); cur = parent.get(cur); }
  const k = chain.join(' < '); stacks.set(k, (stacks.get(k) ?? 0) + counts.get(n.id));
}
for (const [k, v] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(v, k);
