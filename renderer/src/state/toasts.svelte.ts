import { plainError } from '../lib/errors.ts';

export type ToastKind = 'error' | 'info' | 'success';
export interface Toast {
  readonly id: number;
  readonly kind: ToastKind;
  readonly text: string;
}

/** Short messages in a corner; errors stay longer. */
export class Toasts {
  #items = $state.raw<Toast[]>([]);
  #next = 1;

  get items(): readonly Toast[] {
    return this.#items;
  }

  show(text: string, kind: ToastKind = 'info'): void {
    const id = this.#next++;
    this.#items = [...this.#items.slice(-2), { id, kind, text }];
    setTimeout(() => this.dismiss(id), kind === 'error' ? 9000 : 4500);
  }

  error(e: unknown): void {
    this.show(plainError(e), 'error');
  }

  dismiss(id: number): void {
    this.#items = this.#items.filter((t) => t.id !== id);
  }
}
