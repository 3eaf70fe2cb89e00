/**
 * Renders a chart's Vega-Lite specification to a self-contained SVG string, in Node, with no browser and no
 * canvas: Vega-Lite compiles to Vega, Vega's headless View renders its scenegraph to SVG markup (text is measured
 * by estimate when the optional `canvas` package is absent, as here).
 */
import { compile } from "vega-lite";
import { parse, View } from "vega";
import type { Chart } from "./charts.js";

/** The chart as an SVG document (UTF-8 text, no external reference). */
export async function renderChartSvg(chart: Chart): Promise<string> {
  const view = new View(parse(compile(chart.spec as unknown as Parameters<typeof compile>[0]).spec), {
    renderer: "none",
  });
  try {
    const svg = await view.toSVG();
    // A <title> names the chart for screen readers and for the DOM a browser shows.
    return svg.replace(/^(<svg[^>]*>)/, `$1<title>${escapeXml(`${chart.title}: ${chart.caption}`)}</title>`);
  } finally {
    view.finalize();
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
