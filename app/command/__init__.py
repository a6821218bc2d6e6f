"""Chat commands (``!bet``, ``!balance``, ``!pool``, staff ``!open|!lock|!resolve|!cancel``) and
the chat bot's replies."""
