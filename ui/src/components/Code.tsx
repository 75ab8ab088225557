import type { Segment } from "../lib/highlight";

/** One line of code from segments: plain text nodes only (never innerHTML). */
export function CodeLine({ segments }: { segments: Segment[] }) {
  if (!segments.length) return <>{" "}</>;
  return (
    <>
      {segments.map((s) => {
        const cls = [s.cls && `tk-${s.cls}`].filter(Boolean).join(" ");
        const inner = cls ? <span class={cls}>{s.text}</span> : s.text;
        return s.mark ? <mark>{inner}</mark> : inner;
      })}
    </>
  );
}

export function CodeBlock({ lines, firstLine, active }: { lines: Segment[][]; firstLine: number; active?: [number, number] }) {
  return (
    <table class="code">
      <tbody>
        {lines.map((segs, i) => {
          const n = firstLine + i;
          const on = active && n >= active[0] && n <= active[1];
          return (
            <tr class={on ? "on" : undefined} data-line={n}>
              <td class="ln">{n}</td>
              <td class="src">
                <CodeLine segments={segs} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
