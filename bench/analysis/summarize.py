"""Print the analysis benchmark's result from the two JSON lines of
run.sh: fairage's run and fairlearn's run at a small n_boot, extrapolated
linearly to fairage's resample count.

    python summarize.py GO.json FAIRLEARN.json
"""
import json
import sys


def main(go_path, fl_path):
    go = json.load(open(go_path))
    fl = json.load(open(fl_path))
    b, k = go["resamples"], fl["n_boot"]
    # Each fairlearn resample is one more full MetricFrame pass, so time is
    # linear in n_boot: t(B) = t(0) + B·(t(k) − t(0))/k.
    per_wall = (fl["boot_s"] - fl["no_boot_s"]) / k
    per_cpu = (fl["boot_cpu_s"] - fl["no_boot_cpu_s"]) / k
    fl_wall = fl["no_boot_s"] + b * per_wall
    fl_cpu = fl["no_boot_cpu_s"] + b * per_cpu
    print(f"rows: {go['rows']:,}; groupings: gender, ethnicity, age_group, gender×ethnicity; "
          f"metrics: MAE, RMSE, mean error, median AE with 95% percentile intervals")
    print(f"fairage   {b} stratified resamples (+ bias/gap/ratio intervals), {go['workers']} workers: "
          f"{go['analysis_s']:.1f} s wall, {go['analysis_cpu_s']:.1f} s CPU, peak RSS {go['peak_rss_mb']:.0f} MiB")
    print(f"fairlearn measured n_boot={k}: {fl['boot_s']:.1f} s wall ({fl['no_boot_s']:.1f} s of it without bootstrap), "
          f"peak RSS {fl['peak_rss_mb']:.0f} MiB")
    print(f"fairlearn extrapolated to n_boot={b}: {fl['no_boot_s']:.1f} + {b}×{per_wall:.2f} = {fl_wall:.0f} s wall, "
          f"{fl_cpu:.0f} s CPU")
    print(f"ratio (fairlearn / fairage): {fl_wall / go['analysis_s']:.0f}× wall, {fl_cpu / go['analysis_cpu_s']:.0f}× CPU; "
          f"memory {fl['peak_rss_mb'] / go['peak_rss_mb']:.1f}× less for fairage")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
