//! Learning-curve SVG: training loss (top) and validation figures of the integer network (bottom).

use crate::trainer::TrainLog;
use plotters::prelude::*;

type Series = (&'static str, RGBColor, fn(&crate::trainer::EpochLog) -> f64);

pub fn learning_curve_svg(log: &TrainLog) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let (top, bottom) = root.split_vertically(280);
        let n = log.epochs.len().max(1) as f64;
        let x_range = 0.5..(n + 0.5);
        let title = format!(
            "{} {} seed {}: training loss",
            log.config.arch,
            log.config.bits.tag(),
            log.config.seed
        );
        let lmax = log.epochs.iter().map(|e| e.loss).fold(0.0f64, f64::max).max(1e-3) * 1.05;
        let mut c = ChartBuilder::on(&top)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(x_range.clone(), 0.0..lmax)
            .map_err(plot_err)?;
        c.configure_mesh().x_desc("epoch").y_desc("loss").draw().map_err(plot_err)?;
        c.draw_series(LineSeries::new(log.epochs.iter().map(|e| (e.epoch as f64, e.loss)), &BLUE))
            .map_err(plot_err)?
            .label("train loss (class-balanced)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        c.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(plot_err)?;

        let lo = log
            .epochs
            .iter()
            .flat_map(|e| [e.val_accuracy, e.val_balanced_accuracy, e.val_auc, e.train_accuracy])
            .fold(1.0f64, f64::min);
        let lo = ((lo * 20.0).floor() / 20.0).clamp(0.0, 0.95);
        let mut c = ChartBuilder::on(&bottom)
            .caption("validation (integer model) and training accuracy", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(x_range, lo..1.0)
            .map_err(plot_err)?;
        c.configure_mesh().x_desc("epoch").y_desc("fraction").draw().map_err(plot_err)?;
        let series: [Series; 4] = [
            ("val accuracy", RED, |e| e.val_accuracy),
            ("val balanced accuracy", GREEN, |e| e.val_balanced_accuracy),
            ("val AUC", MAGENTA, |e| e.val_auc),
            ("train accuracy (augmented)", BLACK, |e| e.train_accuracy),
        ];
        for (name, color, f) in series {
            c.draw_series(LineSeries::new(log.epochs.iter().map(|e| (e.epoch as f64, f(e))), &color))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        if let Some(b) = log.best_epoch {
            c.draw_series(std::iter::once(PathElement::new(vec![(b as f64, lo), (b as f64, 1.0)], BLACK.mix(0.4))))
                .map_err(plot_err)?
                .label("chosen epoch")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e:?}")
}
