/**
 * Where the Responses API keeps stored responses (`store` is true unless the
 * request says false): the response object for `GET /v1/responses/{id}` and
 * the turn's conversation (its input after the security policy, and its
 * output as sent; for a turn OpenAI served natively, its input items and
 * output items, encrypted reasoning included) for `previous_response_id`. Scoped to the project: another
 * project's key never finds them.
 */
import type { ChatMessage } from "../types.js";
import type { ResponseObject } from "./wire.js";

export interface StoredTurn {
  id: string;
  orgId: string;
  projectId: string;
  keyId: string;
  previousId: string | null;
  createdAt: Date;
  /**
   * This turn's input only, as sent upstream (after the input policy, without instructions): chat messages
   * when the turn was translated to chat, or the Responses input items when OpenAI served it natively
   * (`items`). The answer is the response's output.
   */
  input?: ChatMessage[];
  items?: unknown[];
  response: ResponseObject;
}

/** What a stored turn keeps: the response (its output is the answer) and the input it answered. */
export type StoredTurnBody = Pick<StoredTurn, "response" | "input" | "items">;

export interface ResponseStore {
  save(turn: StoredTurn): Promise<void>;
  /** The stored response and its turn's input (as sent upstream). */
  find(orgId: string, projectId: string, id: string): Promise<StoredTurnBody | null>;
  /**
   * The turns of the conversation that ends with response `id`, oldest first; null when it, or any earlier turn
   * of its chain, is missing (deleted, expired, another project's).
   */
  conversation(orgId: string, projectId: string, id: string): Promise<StoredTurnBody[] | null>;
  remove(orgId: string, projectId: string, id: string): Promise<boolean>;
}
