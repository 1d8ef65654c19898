package io.reportcluster.tools.chaos;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The ERROR and WARN lines the nodes logged (.cluster/nodeI.log) during the run. */
final class NodeLogs {
  static final class Scan {
    int errors;
    int warnings;
    final List<String> samples = new ArrayList<>();
  }

  private final Map<Path, Long> offsets = new HashMap<>();

  /** Where each node's log ends now: the scan reads from there. */
  void rememberOffsets(Path stateDir, List<ClusterNode> nodes) {
    for (ClusterNode n : nodes) {
      Path p = stateDir.resolve(n.name + ".log");
      try {
        offsets.put(p, Files.exists(p) ? Files.size(p) : 0L);
      } catch (IOException e) {
        offsets.put(p, 0L);
      }
    }
  }

  /** ERROR and WARN lines logged since {@link #rememberOffsets}; a few distinct ones as samples. */
  Scan scan() {
    Scan scan = new Scan();
    Map<String, Integer> distinct = new LinkedHashMap<>();
    for (Map.Entry<Path, Long> x : offsets.entrySet()) {
      Path p = x.getKey();
      if (!Files.exists(p)) continue;
      try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
        long from = x.getValue() <= f.length() ? x.getValue() : 0;
        f.seek(from);
        byte[] buf = new byte[(int) Math.min(f.length() - from, 64L << 20)];
        f.readFully(buf);
        for (String line : new String(buf, StandardCharsets.UTF_8).split("\n")) {
          boolean err = line.contains(" ERROR ");
          boolean warn = line.contains(" WARN ");
          if (!err && !warn) continue;
          if (err) scan.errors++;
          else scan.warnings++;
          // Group by message shape: drop the time, ids and numbers.
          String shape = line.length() > 13 ? line.substring(13) : line;
          shape = shape.replaceAll("[0-9a-f]{8}-[0-9a-f-]{27}", "<id>").replaceAll("\\d+", "N");
          if (shape.length() > 150) shape = shape.substring(0, 150);
          distinct.merge(p.getFileName() + ": " + shape, 1, Integer::sum);
        }
      } catch (IOException e) {
        scan.samples.add("cannot read " + p + ": " + e.getMessage());
      }
    }
    distinct.entrySet().stream()
        .sorted((a, b) -> b.getValue() - a.getValue())
        .limit(15)
        .forEach(x -> scan.samples.add(x.getValue() + "x " + x.getKey()));
    return scan;
  }
}
