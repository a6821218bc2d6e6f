"""Pools, bets and their settlement, one module per concern: ``parimutuel`` (the money rules,
pure), ``lifecycle`` (creation and transitions), ``betting`` (bets, batched by ``intake``),
``settlement`` (paying and refunding, in jobs), ``live`` (live totals), ``views`` (what a reader
sees), ``templates``; ``repository`` holds their SQL, ``endpoints`` and ``tasks`` call them."""
