package io.reportcluster.node.http;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How much of a client's time and bytes the server puts up with, from {@code reports.http}: the
 * body size, the JSON depth, how long a request's headers and its body may take to arrive, and how
 * long a request may wait for its answer. The header count and sizes and the URI length are
 * enforced by Pekko's parser ({@code pekko.http.server.parsing.*}, set from the same keys).
 */
public record HttpLimits(
    long maxBodyBytes,
    int maxJsonDepth,
    Duration requestHeaderTimeout,
    Duration bodyReadTimeout,
    Duration requestTimeout) {

  public static HttpLimits fromConfig(Config http) {
    return new HttpLimits(
        http.getBytes("max-body-bytes"),
        http.getInt("max-json-depth"),
        http.getDuration("request-header-timeout"),
        http.getDuration("body-read-timeout"),
        http.getDuration("request-timeout"));
  }
}
