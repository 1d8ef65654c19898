package io.reportcluster.tools.chaos;

import io.reportcluster.tools.cli.Cli;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Chaos runner for a local reportcluster cluster (ops/cluster), run by {@code ops/chaos}: runs a
 * load of report jobs while killing, freezing or stopping nodes one at a time, measures how long
 * the jobs of each victim take to come back on the survivors, and checks every accepted job against
 * the journal. Progress and the event log go to stderr; a {@code key: value} summary goes to
 * stdout.
 *
 * <p>Threads: C submitters ({@link Submitter}, paced by the {@link Pacer}), one chaos thread that
 * runs the events one after another ({@link EventRunner}), one watcher per event (Redis hashes of
 * the victim's jobs, every 200 ms), one sampler of every node's call counter (every second), and
 * the main thread, which follows the journal for finished jobs and draws progress.
 */
public final class Chaos {

  /** {@code chaos [options]}: the exit status. */
  public static int main(String[] args) {
    return Cli.run(
        ChaosOptions.USAGE,
        args,
        ChaosOptions::parse,
        o -> {
          Chaos chaos = new Chaos(o);
          try {
            return chaos.run();
          } catch (Fatal e) {
            System.err.println("chaos: error: " + e.getMessage());
            return 3;
          } finally {
            chaos.cluster.cleanUp();
          }
        });
  }

  private final ChaosRun run;
  private final LocalCluster cluster;
  private final CallCounters counters;
  private final NodeLogs logs = new NodeLogs();

  private Chaos(ChaosOptions o) {
    this.run = new ChaosRun(o);
    this.cluster = new LocalCluster(run);
    this.counters = new CallCounters(run, cluster);
  }

  private int run() {
    ChaosOptions o = run.o;
    long seed = o.seed != null ? o.seed : new Random().nextLong();
    Random random = new Random(seed);
    Runtime.getRuntime().addShutdownHook(new Thread(this::onInterrupt, "chaos-shutdown"));

    cluster.prepare();
    RunJournal journal = RunJournal.open(run);
    StatusMirror mirror =
        StatusMirror.connect(o.redisUrl, o.prefix, e -> EventRunner.onLiveEvent(run, e));
    for (ClusterNode n : cluster.nodes) counters.sample(n, true);
    logs.rememberOffsets(cluster.stateDir(), cluster.nodes);

    run.note(
        "run "
            + run.runId
            + ": "
            + o.jobs
            + " jobs, "
            + o.concurrency
            + " clients, mode "
            + o.mode
            + ", "
            + o.kills
            + " events every "
            + o.intervalS
            + " s"
            + (o.mode.equals("stop") ? ", pause " + o.pauseS + " s" : "")
            + ", rate "
            + o.rate
            + ", seed "
            + seed);

    run.startLoad();
    Pacer pacer = new Pacer(run);
    Submitter submitter = new Submitter(run, cluster, pacer);
    EventRunner events = new EventRunner(run, cluster, mirror, journal, counters, pacer, random);

    List<Thread> submitters = new ArrayList<>();
    for (int w = 0; w < o.concurrency; w++) {
      int offset = w;
      submitters.add(run.start("submit-" + w, () -> submitter.loop(offset)));
    }
    Thread sampler = run.start("sampler", counters::sampleLoop);
    Thread chaos = run.start("chaos", events::loop);

    // Main thread: which accepted jobs are terminal (journal), progress, end of the load.
    long lastProgress = 0;
    while (true) {
      journal.markFinished();
      boolean submitsDone = submitters.stream().noneMatch(Thread::isAlive);
      long open = run.openJobs().size();
      if (submitsDone && open == 0) break;
      if (System.nanoTime() > run.deadlineNs) {
        run.note(
            "deadline of "
                + o.deadlineS
                + " s reached with "
                + open
                + " accepted job(s) not terminal");
        break;
      }
      if (System.nanoTime() - lastProgress > 5e9) {
        lastProgress = System.nanoTime();
        progress();
      }
      ChaosRun.sleep(1000);
    }
    run.loadFinished = true;
    long loadEndNs = System.nanoTime();
    progress();
    run.join(chaos, 400_000, "the chaos thread");
    run.stopChaos = true;
    for (ClusterNode n : cluster.nodes) counters.sample(n, false);
    sampler.interrupt();

    Verification.Verdict v = new Verification(run, cluster, mirror, journal, counters).verify();
    int status = new ChaosReport(run, cluster, submitter, logs).print(v, loadEndNs, System.out);
    journal.reader.close();
    return status;
  }

  /** Ctrl-C: never leave a node frozen; stop what this run started. */
  private void onInterrupt() {
    run.stopChaos = true;
    cluster.continueFrozen();
    cluster.cleanUp();
  }

  private void progress() {
    ChaosJob[] jobs = run.jobs;
    long submitted = Arrays.stream(jobs).filter(j -> j.outcome != 0).count();
    long accepted = Arrays.stream(jobs).filter(ChaosJob::accepted).count();
    long terminal = Arrays.stream(jobs).filter(j -> j.terminal).count();
    long up = cluster.nodes.stream().filter(n -> n.available).count();
    run.note(
        String.format(
            Locale.ROOT,
            "submitted %d/%d (accepted %d), finished %d, nodes up %d/%d, events %d/%d, calls %d",
            submitted,
            run.o.jobs,
            accepted,
            terminal,
            up,
            cluster.nodes.size(),
            run.events.size(),
            run.o.kills,
            counters.total()));
  }
}
