"""The printed summary of results: what a team hands back to the people who answered."""
