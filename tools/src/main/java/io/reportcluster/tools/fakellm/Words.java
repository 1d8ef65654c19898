package io.reportcluster.tools.fakellm;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The fake's tokens are words: a prompt costs as many tokens as it has words (runs of
 * non-whitespace), and an answer of N tokens is N made-up but readable words, in sentences.
 */
final class Words {
  private Words() {}

  private static final String[] OPENERS = {
    "The", "Its", "This", "Each", "Their", "Our", "Most", "Early", "Strong", "New"
  };

  private static final String[] VOCABULARY =
      (""
              + "market team product customers revenue growth model pricing demand segment "
              + "competitors funding investors partners channel margin strategy risk regulation "
              + "adoption retention platform data costs scale hiring roadmap traction pilot "
              + "enterprise buyers contracts moat network brand launch expansion region "
              + "shows keeps needs faces builds targets reaches gains lowers raises serves "
              + "expects plans drives limits favours rewards signals suggests "
              + "steady clear early modest strong recurring narrow broad careful fast slow "
              + "solid uneven likely promising crowded niche durable healthy thin wide "
              + "for with in across over through without toward among beyond and but so "
              + "while the a its their more less most first next")
          .split(" ");

  /** Shortest and longest sentence, in words. */
  private static final int SENTENCE_MIN = 6;

  private static final int SENTENCE_MAX = 14;

  /**
   * {@code n} words in sentences: a capitalised opener, a full stop at each sentence's end and at
   * the answer's (the last sentence may be short; a last word never opens a new one).
   */
  static List<String> answer(int n, Random random) {
    List<String> words = new ArrayList<>(n);
    int left = 0;
    for (int i = 0; i < n; i++) {
      boolean last = i == n - 1;
      String w;
      if (i == 0 || left == 0 && !last) {
        left = SENTENCE_MIN + random.nextInt(SENTENCE_MAX - SENTENCE_MIN + 1);
        w = OPENERS[random.nextInt(OPENERS.length)];
      } else {
        w = VOCABULARY[random.nextInt(VOCABULARY.length)];
      }
      left--;
      words.add(left <= 0 || last ? w + "." : w);
    }
    return words;
  }

  /** The tokens of a text: its words. */
  static int count(String text) {
    int count = 0;
    boolean inWord = false;
    for (int i = 0; i < text.length(); i++) {
      boolean space = Character.isWhitespace(text.charAt(i));
      if (!space && !inWord) count++;
      inWord = !space;
    }
    return count;
  }
}
