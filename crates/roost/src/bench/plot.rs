//! The latency-distribution plot (`--plot FILE.svg`), as HdrHistogram draws it: latency by
//! percentile, one curve per operation, with the percentile axis log-scaled in "nines"
//! (0%, 90%, 99%, 99.9%, 99.99%) so that the tail gets as much room as the median.
//!
//! Hand-written SVG: a plotting crate would add far more to the build than these lines.

use std::fmt::Write as _;

use super::histogram::Histogram;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 520.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
/// The x axis spans 0..NINES in log10(1 / (1 - p)): 4 nines is 99.99%.
const NINES: f64 = 4.0;
const STEPS: usize = 200;
const COLORS: &[&str] =
    &["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A tick step of 1, 2 or 5 times a power of ten giving about five ticks up to `max`.
fn tick_step(max: f64) -> f64 {
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= rough).unwrap_or(magnitude * 10.0)
}

/// The percentile (0..100) at position `x` of the axis.
fn percentile_at(x: f64) -> f64 {
    100.0 * (1.0 - 10f64.powf(-x))
}

/// An SVG document plotting each `(name, histogram)` (microseconds) in milliseconds.
pub fn percentile_svg(title: &str, series: &[(&str, &Histogram)]) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let curves: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .filter(|(_, h)| h.count() > 0)
        .map(|(name, h)| {
            let points = (0..=STEPS)
                .map(|i| {
                    let x = NINES * i as f64 / STEPS as f64;
                    (x, h.percentile(percentile_at(x)) as f64 / 1000.0)
                })
                .collect();
            (*name, points)
        })
        .collect();
    let top_value = curves.iter().flat_map(|(_, p)| p.iter().map(|&(_, y)| y)).fold(0.0, f64::max);
    let step = tick_step(if top_value > 0.0 { top_value } else { 1.0 });
    let y_max = (top_value / step).ceil().max(1.0) * step;
    let sx = |x: f64| LEFT + x / NINES * plot_w;
    let sy = |y: f64| TOP + plot_h - y / y_max * plot_h;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="28" text-anchor="middle" font-size="16">{}</text>"#,
        LEFT + plot_w / 2.0,
        escape(title)
    );
    // Grid and ticks.
    for (i, label) in ["0%", "90%", "99%", "99.9%", "99.99%"].iter().enumerate() {
        let x = sx(i as f64);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0
        );
    }
    let mut tick = 0.0;
    while tick <= y_max + step / 2.0 {
        let y = sy(tick);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            format_ms(tick)
        );
        tick += step;
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 15.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(22 {:.1}) rotate(-90)" text-anchor="middle">latency (ms)</text>"#,
        TOP + plot_h / 2.0
    );
    // Curves and legend.
    for (i, (name, points)) in curves.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let path: Vec<String> = points.iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
            path.join(" "),
            escape(name)
        );
        let ly = TOP + 10.0 + i as f64 * 20.0;
        let lx = WIDTH - RIGHT + 20.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn format_ms(value: f64) -> String {
    if value == 0.0 || value >= 10.0 {
        format!("{value:.0}")
    } else {
        // Enough digits to tell 0.2 from 0.25, no trailing zeros.
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_is_in_nines() {
        assert!((percentile_at(0.0)).abs() < 1e-9);
        assert!((percentile_at(1.0) - 90.0).abs() < 1e-9);
        assert!((percentile_at(4.0) - 99.99).abs() < 1e-9);
        assert_eq!(tick_step(9.0), 2.0);
        assert_eq!(tick_step(0.4), 0.1);
        assert_eq!(tick_step(1200.0), 500.0);
        assert_eq!(format_ms(0.25), "0.25");
        assert_eq!(format_ms(20.0), "20");
    }

    #[test]
    fn draws_one_curve_per_operation() {
        let mut feed = Histogram::default();
        let mut post = Histogram::default();
        for v in 1..=1_000 {
            feed.record(v * 10);
            post.record(v * 30);
        }
        let svg = percentile_svg(
            "mixed <test>",
            &[("home_feed", &feed), ("create_post", &post), ("empty", &Histogram::default())],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("99.99%") && svg.contains("percentile") && svg.contains("latency (ms)"));
        assert!(svg.contains("mixed &lt;test&gt;"));
        assert!(svg.contains(">home_feed<") && svg.contains(">create_post<") && !svg.contains(">empty<"));
        // Every point lies inside the plot area.
        for polyline in svg.split("points=\"").skip(1) {
            for point in polyline.split('"').next().unwrap().split(' ') {
                let (x, y) = point.split_once(',').unwrap();
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                assert!(
                    (LEFT..=WIDTH - RIGHT).contains(&x) && (TOP..=HEIGHT - BOTTOM).contains(&y),
                    "{x},{y}"
                );
            }
        }
    }
}
