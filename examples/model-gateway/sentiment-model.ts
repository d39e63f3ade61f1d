/**
 * A real small model for the example: AFINN-165 sentiment scoring from the `sentiment` package.
 * - `v1`: the stock lexicon.
 * - `v2`: the same lexicon with changed weights (negative words weigh double, mild positives
 *   nothing): a retrained model whose scores differ.
 * - `broken`: the stock lexicon behind a faulty scorer that fails a fifth of its requests.
 */
import { createRequire } from 'node:module';
import { z } from 'zod';
import type { ModelImplementation } from '../../src/mcp/index.js';

interface SentimentResult { score: number; comparative: number; positive: string[]; negative: string[] }
interface SentimentEngine {
  analyze(text: string, options?: { language?: string }): SentimentResult;
  registerLanguage(code: string, language: { labels: Record<string, number>; scoringStrategy?: unknown }): void;
}

const require = createRequire(import.meta.url);
const Sentiment = require('sentiment') as new () => SentimentEngine;
const stockLabels = require('sentiment/languages/en/labels.json') as Record<string, number>;
const scoringStrategy = require('sentiment/languages/en/scoring-strategy.js') as unknown;

/** v2's weights: negative words weigh double, mild positive words (weight 1) count for nothing. */
function retrainedLabels(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [word, weight] of Object.entries(stockLabels)) out[word] = weight < 0 ? weight * 2 : weight === 1 ? 0 : weight;
  return out;
}

export const SentimentContextSchema = z.object({
  /** Scores within ±neutralBand are `neutral`. */
  neutralBand: z.number().min(0).max(10),
  /** Free text prepended to every answer's `note`: a stand-in for a prompt template. */
  note: z.string().max(200).optional(),
});
export type SentimentContext = z.infer<typeof SentimentContextSchema>;

/** The model implementation served by `service.ts`. */
export function sentimentModel(): ModelImplementation<SentimentContext> {
  const engines = new Map<string, { engine: SentimentEngine; language: string; requests: number }>();
  return {
    name: 'sentiment',
    versions: ['v1', 'v2', 'broken'],
    preload: ['v1'],
    capabilities: ['infer', 'context', 'canary'],
    contextSchema: SentimentContextSchema,
    initialContext: { neutralBand: 0 },
    inputSchema: z.object({ text: z.string().min(1).max(5000) }),
    load(version) {
      const engine = new Sentiment();
      let language = 'en';
      if (version === 'v2') {
        language = 'en-v2';
        engine.registerLanguage(language, { labels: retrainedLabels(), scoringStrategy });
      }
      engines.set(version, { engine, language, requests: 0 });
    },
    unload(version) {
      engines.delete(version);
    },
    infer(version, input, { context }) {
      const loaded = engines.get(version);
      if (!loaded) throw new Error(`version ${version} is not loaded`);
      loaded.requests++;
      if (version === 'broken' && loaded.requests % 5 === 0) throw new Error('scorer crashed (deliberately broken version)');
      const { text } = input as { text: string };
      const r = loaded.engine.analyze(text, { language: loaded.language });
      const label = r.score > context.neutralBand ? 'positive' : r.score < -context.neutralBand ? 'negative' : 'neutral';
      return { score: r.score, comparative: Number(r.comparative.toFixed(4)), label, ...(context.note ? { note: context.note } : {}) };
    },
  };
}
