package io.reportcluster.node.testkit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A node whose provider kills the whole JVM (as an out-of-memory answer or a native crash would)
 * during every call of a job whose startup begins with "Poison": 300 ms into the call, after its
 * start is journaled. Other jobs run on the simulated provider.
 *
 * <p>Every call in flight when a node dies counts as an interrupted attempt, the culprit's and its
 * neighbours' alike (nothing tells them apart); tests keep the other jobs' calls short.
 */
public final class PoisonedNodeMain {
  private PoisonedNodeMain() {}

  public static void main(String[] args) {
    Config config =
        ConfigFactory.parseString("pekko.coordinated-shutdown.exit-jvm = on")
            .withFallback(ConfigFactory.load());
    SimulatedProvider simulated =
        new SimulatedProvider(
            SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated")));
    LlmProvider poisoned =
        new LlmProvider() {
          @Override
          public String name() {
            return "simulated";
          }

          @Override
          public LlmCall start(LlmRequest request) {
            if (!request.startup().startsWith("Poison")) return simulated.start(request);
            CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS)
                .execute(
                    () -> {
                      System.out.println(
                          "poisoned call of job "
                              + request.jobId()
                              + " attempt "
                              + request.attempt()
                              + ": halting the JVM");
                      Runtime.getRuntime().halt(137);
                    });
            return LlmCall.of(
                new CompletableFuture<>(), () -> {}); // it never answers: the JVM dies first
          }
        };
    ReportNode node = ReportNode.start(config, ProviderRegistry.of(poisoned));
    System.out.println("poisoned node listening on " + node.baseUrl());
  }
}
