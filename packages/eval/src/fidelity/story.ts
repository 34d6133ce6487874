/**
 * A children's story written for kvsieve's fidelity runs (it is original text, not taken from any
 * data set). stories260K was trained on simple stories with a small vocabulary and a 512-token
 * context, so the prompt stays in that register: short sentences, common words, named characters
 * who come back later (which gives a compressed cache something worth keeping from far back).
 * 526 stories260K tokens (with BOS), cut to the requested prompt length: 400 tokens end inside
 * the search for the lost kite, so the continuation needs names and objects from far back.
 */
export const FIDELITY_STORY = `Once upon a time, there was a little girl named Mia. She lived in a small house near a big green park with her mom, her dad and her dog, Max. Max was brown and white and he loved to run.
One sunny day, Mia took her red ball and went to the park with Max. She threw the ball high in the sky. Max jumped and caught it. Mia laughed and clapped her hands. "Good dog, Max!" she said.
Then Mia saw a boy sitting under a tree. He looked sad. His name was Tom. Mia walked to him and asked, "Why are you sad, Tom?" Tom said, "I lost my blue kite. The wind took it away and now I cannot find it."
Mia wanted to help her new friend. She said, "Do not worry, Tom. Max and I will help you look for your kite." Tom smiled a little and stood up.
The three friends looked near the pond. They looked behind the big rock. They looked under the slide. But they could not find the blue kite. Tom began to feel sad again.
Then Max started to bark. He ran to a tall tree and looked up. Mia and Tom ran after him. High in the tree, they saw something blue. It was the kite! It was stuck on a branch.`;
