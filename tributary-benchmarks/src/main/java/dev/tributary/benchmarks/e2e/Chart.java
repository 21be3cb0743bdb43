package dev.tributary.benchmarks.e2e;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A small line chart drawn with Java2D and written as PNG, so that the harness can plot its own
 * results without Python or a plotting library. Linear or logarithmic axes; x may be categorical.
 */
public final class Chart {
  private static final Color[] PALETTE = {
    new Color(0x1f77b4),
    new Color(0xd62728),
    new Color(0x2ca02c),
    new Color(0xff7f0e),
    new Color(0x9467bd)
  };
  private static final int WIDTH = 900;
  private static final int HEIGHT = 540;
  private static final int LEFT = 95;
  private static final int RIGHT = 30;
  private static final int TOP = 55;
  private static final int BOTTOM = 70;

  private final String title;
  private final String xLabel;
  private final String yLabel;
  private boolean logX;
  private boolean logY;
  private List<String> categories;
  private String footnote;
  private final List<Series> series = new ArrayList<>();

  /** One line. */
  public record Series(String name, double[] x, double[] y) {}

  public Chart(String title, String xLabel, String yLabel) {
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
  }

  public Chart logX() {
    logX = true;
    return this;
  }

  public Chart logY() {
    logY = true;
    return this;
  }

  /** Makes x categorical: point i of every series is drawn at category i. */
  public Chart categories(List<String> labels) {
    categories = List.copyOf(labels);
    return this;
  }

  public Chart footnote(String text) {
    footnote = text;
    return this;
  }

  public Chart add(String name, double[] x, double[] y) {
    series.add(new Series(name, x.clone(), y.clone()));
    return this;
  }

  /** Draws the chart into {@code file} (PNG), creating directories as needed. */
  public void write(Path file) {
    BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      draw(g);
    } finally {
      g.dispose();
    }
    try {
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      ImageIO.write(img, "png", file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    System.out.println("wrote " + file);
  }

  private void draw(Graphics2D g) {
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(
        RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, WIDTH, HEIGHT);
    int pw = WIDTH - LEFT - RIGHT;
    int ph = HEIGHT - TOP - BOTTOM;

    double[] xr = range(true);
    double[] yr = range(false);
    Axis xa = new Axis(xr[0], xr[1], logX, categories);
    Axis ya = new Axis(yr[0], yr[1], logY, null);

    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 17));
    g.setColor(Color.BLACK);
    centered(g, title, LEFT + pw / 2, 30);

    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    FontMetrics fm = g.getFontMetrics();
    for (double t : ya.ticks()) {
      int y = TOP + ph - (int) Math.round(ya.frac(t) * ph);
      g.setColor(new Color(0xE6E6E6));
      g.drawLine(LEFT, y, LEFT + pw, y);
      g.setColor(Color.DARK_GRAY);
      String s = ya.label(t);
      g.drawString(s, LEFT - 8 - fm.stringWidth(s), y + fm.getAscent() / 2 - 1);
    }
    for (double t : xa.ticks()) {
      int x = LEFT + (int) Math.round(xa.frac(t) * pw);
      g.setColor(new Color(0xE6E6E6));
      g.drawLine(x, TOP, x, TOP + ph);
      g.setColor(Color.DARK_GRAY);
      centered(g, xa.label(t), x, TOP + ph + 18);
    }
    g.setColor(Color.BLACK);
    g.drawRect(LEFT, TOP, pw, ph);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
    centered(g, xLabel, LEFT + pw / 2, HEIGHT - BOTTOM + 45);
    AffineTransform saved = g.getTransform();
    g.rotate(-Math.PI / 2);
    centered(g, yLabel, -(TOP + ph / 2), 22);
    g.setTransform(saved);

    for (int s = 0; s < series.size(); s++) {
      Series se = series.get(s);
      Color c = PALETTE[s % PALETTE.length];
      g.setColor(c);
      g.setStroke(new BasicStroke(2.5f));
      Path2D path = new Path2D.Double();
      boolean started = false;
      for (int i = 0; i < se.y().length; i++) {
        if (Double.isNaN(se.y()[i])) {
          continue;
        }
        double px = LEFT + xa.frac(categories != null ? i : se.x()[i]) * pw;
        double py = TOP + ph - ya.frac(se.y()[i]) * ph;
        if (!started) {
          path.moveTo(px, py);
          started = true;
        } else {
          path.lineTo(px, py);
        }
        g.fillOval((int) px - 4, (int) py - 4, 9, 9);
      }
      g.draw(path);
    }
    g.setStroke(new BasicStroke(1f));
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    fm = g.getFontMetrics();
    int lw = 0;
    for (Series se : series) {
      lw = Math.max(lw, fm.stringWidth(se.name()));
    }
    int lx = LEFT + pw - lw - 50;
    int ly = TOP + 12;
    g.setColor(new Color(255, 255, 255, 230));
    g.fillRect(lx - 8, ly - 4, lw + 52, series.size() * 20 + 8);
    g.setColor(Color.GRAY);
    g.drawRect(lx - 8, ly - 4, lw + 52, series.size() * 20 + 8);
    for (int s = 0; s < series.size(); s++) {
      g.setColor(PALETTE[s % PALETTE.length]);
      g.fillRect(lx, ly + s * 20 + 6, 28, 4);
      g.setColor(Color.BLACK);
      g.drawString(series.get(s).name(), lx + 36, ly + s * 20 + 13);
    }
    if (footnote != null) {
      g.setFont(new Font(Font.SANS_SERIF, Font.ITALIC, 11));
      g.setColor(Color.DARK_GRAY);
      g.drawString(footnote, 10, HEIGHT - 8);
    }
  }

  private double[] range(boolean x) {
    if (x && categories != null) {
      return new double[] {-0.5, categories.size() - 0.5};
    }
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (Series s : series) {
      for (double v : x ? s.x() : s.y()) {
        if (!Double.isNaN(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    if (lo > hi) {
      return new double[] {0, 1};
    }
    boolean log = x ? logX : logY;
    if (log) {
      return new double[] {
        Math.pow(10, Math.floor(Math.log10(lo))), Math.pow(10, Math.ceil(Math.log10(hi)))
      };
    }
    if (!x) {
      lo = Math.min(0, lo);
      hi = hi * 1.1;
    }
    return new double[] {lo, hi == lo ? lo + 1 : hi};
  }

  private static void centered(Graphics2D g, String s, int x, int y) {
    g.drawString(s, x - g.getFontMetrics().stringWidth(s) / 2, y);
  }

  /** Maps values to [0, 1] and chooses ticks. */
  private record Axis(double lo, double hi, boolean log, List<String> categories) {
    double frac(double v) {
      if (log) {
        return (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
      }
      return (v - lo) / (hi - lo);
    }

    List<Double> ticks() {
      List<Double> t = new ArrayList<>();
      if (categories != null) {
        for (int i = 0; i < categories.size(); i++) {
          t.add((double) i);
        }
      } else if (log) {
        for (double v = lo; v <= hi * 1.0001; v *= 10) {
          t.add(v);
        }
      } else {
        double step = niceStep((hi - lo) / 6);
        for (double v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
          t.add(v);
        }
      }
      return t;
    }

    String label(double v) {
      if (categories != null) {
        int i = (int) Math.round(v);
        return i >= 0 && i < categories.size() ? categories.get(i) : "";
      }
      return human(v);
    }

    private static double niceStep(double raw) {
      double p = Math.pow(10, Math.floor(Math.log10(raw)));
      double m = raw / p;
      return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
    }
  }

  /** 1200000 -> 1.2M, 1000 -> 1k, 0.5 -> 0.5. */
  static String human(double v) {
    double a = Math.abs(v);
    if (a >= 1e6) {
      return trim(v / 1e6) + "M";
    }
    if (a >= 1e3) {
      return trim(v / 1e3) + "k";
    }
    return trim(v);
  }

  private static String trim(double v) {
    String s = String.format(Locale.ROOT, "%.2f", v);
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }
}
