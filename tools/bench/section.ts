/** One benchmark section of `npm run bench`: a human table and named figures for --json. */
export interface BenchSection {
    name: string
    description: string
    run(): Promise<{ lines: string[]; figures: Record<string, number> }>
}
