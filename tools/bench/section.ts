/** One benchmark section of `npm run bench`: a human table and named figures for --json. */
export interface BenchSection {
    name: string
    description: string
    /** quick: smaller sizes where a section has them (the test suite runs the bench so). */
    run(options: { quick: boolean }): Promise<{ lines: string[]; figures: Record<string, number> }>
}
