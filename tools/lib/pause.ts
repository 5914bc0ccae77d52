/** A real suspension on Node (a timer), for shared code that waits in turn (src/lib/store/backlog.ts). */
export const timerPause = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 1))
