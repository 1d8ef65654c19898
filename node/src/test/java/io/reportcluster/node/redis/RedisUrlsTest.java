package io.reportcluster.node.redis;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What a Redis URL looks like in logs and errors: never with its user or password. */
class RedisUrlsTest {

  @Test
  void aUrlWithoutCredentialsIsShownAsItIs() {
    assertThat(RedisUrls.withoutCredentials("redis://127.0.0.1:6379"))
        .isEqualTo("redis://127.0.0.1:6379");
    assertThat(RedisUrls.withoutCredentials("")).isEmpty();
  }

  @Test
  void userAndPasswordAreLeftOut() {
    assertThat(RedisUrls.withoutCredentials("rediss://reports:s3cret@redis.internal:6380/2"))
        .isEqualTo("rediss://redis.internal:6380/2");
    assertThat(RedisUrls.withoutCredentials("redis://:s3cret@127.0.0.1:6379"))
        .isEqualTo("redis://127.0.0.1:6379");
  }

  @Test
  void aPasswordHoldingSeparatorsIsLeftOutWhole() {
    assertThat(RedisUrls.withoutCredentials("rediss://u:p@ss/w:rd?x@host:6380"))
        .isEqualTo("rediss://host:6380");
    assertThat(RedisUrls.withoutCredentials("not a url, secret@host")).isEqualTo("host");
  }

  @Test
  void messagesLoseTheCredentialsWhereverTheyAppear() {
    String url = "rediss://reports:p%40ss@redis:6380";
    assertThat(RedisUrls.scrub("cannot connect to " + url + ": refused", url))
        .isEqualTo("cannot connect to rediss://redis:6380: refused");
    assertThat(RedisUrls.scrub("AUTH reports p@ss failed; p%40ss", url))
        .doesNotContain("p@ss")
        .doesNotContain("p%40ss");
    assertThat(RedisUrls.scrub("plain message", "redis://127.0.0.1:6379"))
        .isEqualTo("plain message");
  }
}
