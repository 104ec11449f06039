export function renderChart() { return "<svg/>"; }
