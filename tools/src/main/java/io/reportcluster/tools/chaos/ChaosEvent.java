package io.reportcluster.tools.chaos;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** One chaos event (a node taken down and started again) and what was measured around it. */
final class ChaosEvent {
  final int n;
  final ClusterNode victim;
  long pid;
  long signalNs;
  long signalWallMs;

  /**
   * Unfinished jobs whose mirror named the victim at the signal (and the journal had not finished).
   */
  Set<String> onVictim = Set.of();

  int finishedBeforeSignal;
  long callsAtSignal;
  long callsAfterSignal = -1;

  /** Job id to seconds after the signal when it showed another node or a final state. */
  final Map<String, Double> resolvedS = new ConcurrentHashMap<>();

  volatile Double failoverS;
  volatile int unresolved;
  volatile double downS = Double.NaN;
  volatile double removedS = Double.NaN;
  volatile double exitedS = Double.NaN;
  volatile double contS = Double.NaN;
  volatile long contWallMs;
  volatile double restartedS = Double.NaN;
  volatile double wholeS = Double.NaN;
  volatile long restartBeganNs;
  volatile boolean watchDone;

  /** Moved jobs that the victim's old process published for, or its mirror named again. */
  final Set<String> mirrorReverted = ConcurrentHashMap.newKeySet();

  final List<String> notes = new CopyOnWriteArrayList<>();

  ChaosEvent(int n, ClusterNode victim) {
    this.n = n;
    this.victim = victim;
  }

  /** Seconds from the signal to {@code ns}. */
  double since(long ns) {
    return (ns - signalNs) / 1e9;
  }
}
