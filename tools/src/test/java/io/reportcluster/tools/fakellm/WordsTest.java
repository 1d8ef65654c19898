package io.reportcluster.tools.fakellm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WordsTest {
  @Test
  void aTokenIsARunOfNonWhitespace() {
    assertThat(Words.count("")).isZero();
    assertThat(Words.count("  \n\t ")).isZero();
    assertThat(Words.count("one")).isEqualTo(1);
    assertThat(Words.count(" Tell me\nabout\t\tAcme,  please. ")).isEqualTo(5);
  }

  @Test
  void anAnswerHasExactlyItsWordsInSentences() {
    Random random = new Random(7);
    for (int n : new int[] {1, 2, 15, 150, 1000}) {
      List<String> words = Words.answer(n, random);
      String text = String.join(" ", words);
      assertThat(words).hasSize(n);
      assertThat(Words.count(text)).isEqualTo(n);
      assertThat(text).matches("[A-Z][a-z]*( [A-Za-z]+\\.?)*\\.");
    }
  }
}
