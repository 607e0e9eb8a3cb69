// The server's answer cache: repeated offers skip SDP parsing and writing (RFC 3264 answers depend
// only on the catalog entry and the offer without its `o=` line).
import { answerOffer, type AnswerResult } from "../sdp/answer.ts";
import type { CatalogEntry } from "../sdp/stream.ts";

/** Options of {@link AnswerCache}. */
export interface AnswerCacheOptions {
  /** Most distinct offers remembered per stream entry; default 256. */
  readonly maxOffers?: number;
  /** Offers longer than this are answered without the cache; default 8192 characters. */
  readonly maxOfferLength?: number;
}

/**
 * Remembers answers (RFC 3264 §6): an answer depends only on the catalog entry and on the offer
 * without the content of its `o=` line, which answerOffer() never reads, so repeated offers (VLC,
 * ffmpeg, and this project's client, whose offers differ only in `o=`) skip SDP parsing and
 * writing. A reloaded catalog has new entries, so their answers start afresh (WeakMap); at most
 * `maxOffers` offers per entry are kept, oldest out. Invalid offers are not cached.
 */
export class AnswerCache {
  readonly #byEntry = new WeakMap<CatalogEntry, Map<string, AnswerResult>>();
  readonly #maxOffers: number;
  readonly #maxOfferLength: number;

  constructor(options: AnswerCacheOptions = {}) {
    this.#maxOffers = options.maxOffers ?? 256;
    this.#maxOfferLength = options.maxOfferLength ?? 8192;
  }

  /** The result answerOffer(offerText, entry) gives; throws SdpError like it. */
  answer(offerText: string, entry: CatalogEntry): AnswerResult {
    if (offerText.length > this.#maxOfferLength) return answerOffer(offerText, entry);
    const key = offerText.replace(/^o=[^\r\n]*/m, "o=");
    let answers = this.#byEntry.get(entry);
    const cached = answers?.get(key);
    if (cached !== undefined) return cached;
    const result = answerOffer(offerText, entry);
    if (answers === undefined) {
      answers = new Map();
      this.#byEntry.set(entry, answers);
    }
    if (answers.size >= this.#maxOffers) answers.delete(answers.keys().next().value!);
    answers.set(key, result);
    return result;
  }
}
