#!/usr/bin/env bash
# Bit-width sweep: trains every (arch, bit width, seed), copies the training logs and learning curves
# to reports/training/, then evaluates every model on the official test split (golden model) into
# reports/accuracy/ (one JSON per model + summary.json / summary.md with means over seeds).
#
# Selection (epoch, decision offset) happens inside training on the validation split only; the test
# split is read only by the final accuracy-report step, after all models are fixed.
#
#   CONFIGS="cnv:1 mlp:1 cnv:4 cnv:8" SEEDS="0 1 2" train/scripts/sweep.sh     (arch:bits, W = A = bits)
#
# The cnv w1a1 seed-0 run of the committed reports is models/default.qnn.json (same command with
# --out models/default.qnn.json), copied here under its sweep name.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIGS=${CONFIGS:-"cnv:1 mlp:1 cnv:4 cnv:8"}
SEEDS=${SEEDS:-"0 1 2"}
MODELS=${MODELS:-target/sweep}
EXTRA=${EXTRA:-}
mkdir -p "$MODELS/bin" reports/training
if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p xtask -p train --bins
  # A private copy of the binaries, so rebuilding the workspace mid-sweep cannot mix code versions.
  cp target/release/xtask target/release/accuracy-report "$MODELS/bin/"
fi
for cfg in $CONFIGS; do
  arch=${cfg%%:*}
  b=${cfg##*:}
  for s in $SEEDS; do
      name="$arch-w${b}a${b}-s$s"
      if [[ -f "$MODELS/$name.qnn.json" && -z "${FORCE:-}" ]]; then
        echo "skip $name (exists; FORCE=1 retrains)"
      else
        # shellcheck disable=SC2086
        "$MODELS/bin/xtask" train --arch "$arch" --wbits "$b" --abits "$b" --seed "$s" \
          --out "$MODELS/$name.qnn.json" --quiet $EXTRA
      fi
      cp "$MODELS/$name.log.json" "$MODELS/$name.curve.svg" reports/training/
  done
done
"$MODELS/bin/accuracy-report" --out reports/accuracy "$MODELS"/*.qnn.json
