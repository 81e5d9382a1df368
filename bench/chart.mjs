// Draws latency against heap size, one line per way of running a command, as a small SVG
// (log-scale y axis: the fork-based ways grow by two orders of magnitude).
const COLORS = {
  native: "#1b7f3b",
  floor: "#777777",
  spawn: "#c56a00",
  binary: "#b3261e",
  binaryAddon: "#6a3fb5",
};
const LABELS = {
  native: "node-nsenter native",
  binary: "nsenter binary via child_process",
  binaryAddon: "nsenter binary via the addon",
  spawn: "child_process.spawn (no namespace)",
  floor: "C floor: vfork + setns + exec",
};

export function drawChart({ levels, machine }) {
  const W = 780;
  const H = 420;
  const m = { l: 70, r: 270, t: 40, b: 60 };
  const xs = levels.map((l) => l.heapGB);
  const xMax = Math.max(...xs, 1);
  const all = levels.flatMap((l) => Object.values(l.latencyMs));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...all)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const x = (v) => m.l + (v / xMax) * (W - m.l - m.r);
  const y = (v) =>
    H -
    m.b -
    ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - m.t - m.b);
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(
    `<text x="${m.l}" y="22" font-size="15" font-weight="bold">Latency of one /bin/true run vs. the size of the Node heap</text>`,
  );
  for (let d = yMin; d <= yMax; d *= 10) {
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`);
    out.push(
      `<text x="${m.l - 8}" y="${y(d) + 4}" text-anchor="end">${d >= 1 ? d : d.toFixed(Math.round(-Math.log10(d)))} ms</text>`,
    );
  }
  for (const v of xs) {
    out.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`);
    out.push(`<text x="${x(v)}" y="${H - m.b + 18}" text-anchor="middle">${v}</text>`);
  }
  out.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 20}" text-anchor="middle">touched heap (GiB of Buffers)</text>`,
  );
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  let ly = m.t + 10;
  for (const key of ["binary", "spawn", "binaryAddon", "native", "floor"]) {
    const pts = levels
      .map((l) => `${x(l.heapGB).toFixed(1)},${y(l.latencyMs[key]).toFixed(1)}`)
      .join(" ");
    out.push(`<polyline fill="none" stroke="${COLORS[key]}" stroke-width="2.5" points="${pts}"/>`);
    for (const l of levels) {
      out.push(
        `<circle cx="${x(l.heapGB).toFixed(1)}" cy="${y(l.latencyMs[key]).toFixed(1)}" r="3.5" fill="${COLORS[key]}"><title>${LABELS[key]}: ${l.latencyMs[key].toFixed(3)} ms at ${l.heapGB} GiB</title></circle>`,
      );
    }
    out.push(
      `<rect x="${W - m.r + 15}" y="${ly - 9}" width="14" height="4" fill="${COLORS[key]}"/>`,
    );
    out.push(`<text x="${W - m.r + 35}" y="${ly - 3}">${LABELS[key]}</text>`);
    ly += 22;
  }
  out.push(
    `<text x="${W - m.r + 15}" y="${ly + 10}" fill="#555" font-size="11">${machine.cores} cores, ${machine.memoryGiB} GiB, Linux ${machine.kernel.split("-")[0]}</text>`,
  );
  out.push(
    `<text x="${W - m.r + 15}" y="${ly + 26}" fill="#555" font-size="11">Node ${machine.node}</text>`,
  );
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
