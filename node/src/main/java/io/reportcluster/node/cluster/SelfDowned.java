package io.reportcluster.node.cluster;

import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Runs an action the moment this node learns the cluster downed it (typically a node that was
 * frozen, SIGSTOP or a long GC pause, and wakes up). Its jobs already run on other nodes, so
 * whatever it still does for them (LLM calls, journal writes) is paid twice: stop at once, no
 * graceful drain. Pekko then shuts the node down on its own.
 */
public final class SelfDowned {
  private SelfDowned() {}

  public static void onDowned(ActorSystem<?> system, Runnable action) {
    Cluster cluster = Cluster.get(system);
    Behavior<ClusterEvent.MemberDowned> watch =
        Behaviors.setup(
            ctx -> {
              cluster
                  .subscriptions()
                  .tell(Subscribe.create(ctx.getSelf(), ClusterEvent.MemberDowned.class));
              return Behaviors.receiveMessage(
                  downed -> {
                    if (!downed
                        .member()
                        .uniqueAddress()
                        .equals(cluster.selfMember().uniqueAddress())) return Behaviors.same();
                    action.run();
                    return Behaviors.stopped();
                  });
            });
    system.systemActorOf(watch, "self-downed-watch", Props.empty());
  }

  /** True when the node is shutting down because the cluster downed it (not a graceful leave). */
  public static boolean isShutdownReason(ActorSystem<?> system) {
    return CoordinatedShutdown.get(system)
        .getShutdownReason()
        .map(reason -> reason.equals(CoordinatedShutdown.clusterDowningReason()))
        .orElse(false);
  }
}
